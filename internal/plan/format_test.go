package plan

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/state"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestWriteGolden pins the printed matrix for a few typical apps.
func TestWriteGolden(t *testing.T) {
	t.Parallel()
	measured := Timings{Start: 300 * time.Millisecond, Health: 2 * time.Second, Stop: 150 * time.Millisecond, Drain: 40 * time.Millisecond, Deploys: 4}
	tests := []struct {
		name        string
		worker      bool
		deploy      string
		constraints string
		h           Timings
	}{
		{name: "service-auto", deploy: `strategy = "auto"`},
		{name: "service-measured", deploy: `strategy = "auto"` + "\ninstances = 4", constraints: "max_extra_instances = 2", h: measured},
		{name: "bot-singleton", worker: true, deploy: `strategy = "auto"`, constraints: "singleton = true"},
		{name: "explicit-bluegreen-singleton", worker: true, deploy: `strategy = "bluegreen"`, constraints: "singleton = true"},
		{name: "nothing-fits", deploy: `strategy = "auto"`, constraints: "max_extra_instances = 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := app(t, tt.worker, tt.deploy, tt.constraints)
			p, _ := Make(a, tt.h)
			var buf bytes.Buffer
			if err := Write(&buf, a, p); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update once to write it)", err)
			}
			if d := cmp.Diff(string(want), buf.String()); d != "" {
				t.Errorf("%s (-want +got):\n%s", golden, d)
			}
		})
	}
}

// TestJSONShape: the --json form has exactly the documented keys.
func TestJSONShape(t *testing.T) {
	t.Parallel()
	p, err := Make(app(t, false, `strategy = "auto"`, ""), Timings{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"strategy": "bluegreen",
		"settings": map[string]any{"instances": 1.0},
	}
	opts, _ := got["options"].([]any)
	delete(got, "options")
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("json (-want +got):\n%s", d)
	}
	if len(opts) != 4 {
		t.Fatalf("options = %v, want 4", opts)
	}
	for _, o := range opts {
		var keys []string
		for k := range o.(map[string]any) {
			keys = append(keys, k)
		}
		if d := cmp.Diff([]string{"downtime", "extra_instances", "fits", "rollback", "strategy", "why"}, sorted(keys)); d != "" {
			t.Errorf("option keys (-want +got):\n%s", d)
		}
	}
}

func sorted(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func TestMeasure(t *testing.T) {
	t.Parallel()
	ok := func(name string, took time.Duration) state.Step {
		return state.Step{Name: name, Took: took, Outcome: state.StepOK}
	}
	deploy := func(outcome string, start, health time.Duration) state.Deployment {
		return state.Deployment{Kind: state.KindDeploy, Outcome: outcome, Steps: []state.Step{
			ok("install release", time.Second), ok("start green", start), ok("health green", health),
			ok("switch to green", time.Millisecond), ok("drain blue", 30*time.Millisecond),
		}}
	}
	deps := []state.Deployment{
		deploy(state.OutcomeSucceeded, 100*time.Millisecond, 2*time.Second),
		deploy(state.OutcomeFailed, time.Hour, time.Hour), // failed: not a measure of a good start
		deploy(state.OutcomeSucceeded, 300*time.Millisecond, 4*time.Second),
		deploy(state.OutcomeSucceeded, 200*time.Millisecond, 3*time.Second),
		{Kind: "rollback", Outcome: state.OutcomeSucceeded, Steps: []state.Step{ok("start blue", time.Hour)}},
		{Kind: state.KindDeploy, Outcome: state.OutcomeSucceeded, Steps: []state.Step{{Name: "start blue", Took: time.Hour, Outcome: state.StepFailed}}},
	}
	got := Measure(deps)
	want := Timings{Start: 200 * time.Millisecond, Health: 3 * time.Second, Drain: 30 * time.Millisecond, Deploys: 3}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Measure (-want +got):\n%s", d)
	}
	if got := Measure(nil); got != (Timings{}) {
		t.Errorf("Measure(nil) = %+v, want zero", got)
	}
}
