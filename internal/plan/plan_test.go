package plan

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/spec"
)

// app parses a spec: a service unless worker, with the given extra TOML
// for [deploy] and [constraints].
func app(t *testing.T, worker bool, deploy, constraints string) *spec.App {
	t.Helper()
	s := "version = 1\nname = \"a\"\n[run]\ncommand = [\"./a\"]\n"
	if !worker {
		s += "[service]\nlisten = \"127.0.0.1:8080\"\n[[checks]]\nname = \"up\"\ntype = \"http\"\n"
	}
	s += "[deploy]\n" + deploy + "\n[constraints]\n" + constraints + "\n"
	a, err := spec.Parse("berth.toml", []byte(s))
	if err != nil {
		t.Fatalf("spec:\n%s\n%v", s, err)
	}
	return a
}

func TestChoose(t *testing.T) {
	t.Parallel()
	const auto = `strategy = "auto"` + "\n"
	tests := []struct {
		name        string
		worker      bool
		deploy      string
		constraints string
		want        string         // chosen strategy; "" = an error
		settings    map[string]any // when want != ""
		errKey      string         // when want == ""
		fits        []bool         // restart, bluegreen, rolling, canary
	}{
		{name: "defaults: room for one", deploy: auto,
			want: "bluegreen", settings: map[string]any{"instances": 1}, fits: []bool{false, true, true, true}},
		{name: "singleton stops first", deploy: auto, constraints: "singleton = true",
			want: "restart", settings: map[string]any{"stop_first": true}, fits: []bool{true, false, false, false}},
		{name: "singleton worker stops first", worker: true, deploy: auto, constraints: "singleton = true\nmax_extra_instances = 3",
			want: "restart", settings: map[string]any{"stop_first": true}, fits: []bool{true, false, false, false}},
		{name: "singleton with downtime none", deploy: auto, constraints: "singleton = true\ndowntime = \"none\"",
			errKey: "constraints.downtime", fits: []bool{false, false, false, false}},
		{name: "worker not singleton", worker: true, deploy: auto,
			want: "bluegreen", settings: map[string]any{"instances": 1}, fits: []bool{false, true, true, false}},
		{name: "room for N", deploy: auto + "instances = 3", constraints: "max_extra_instances = 3",
			want: "bluegreen", settings: map[string]any{"instances": 3}, fits: []bool{false, true, true, true}},
		{name: "room for fewer than N", deploy: auto + "instances = 4", constraints: "max_extra_instances = 2",
			want: "rolling", settings: map[string]any{"instances": 4, "max_surge": 2, "max_unavailable": 0}, fits: []bool{false, false, true, false}},
		{name: "worker room for fewer than N", worker: true, deploy: auto + "instances = 4", constraints: "max_extra_instances = 1",
			want: "rolling", settings: map[string]any{"instances": 4, "max_surge": 1, "max_unavailable": 0}, fits: []bool{false, false, true, false}},
		{name: "no room, N > 1", deploy: auto + "instances = 3", constraints: "max_extra_instances = 0",
			want: "rolling", settings: map[string]any{"instances": 3, "max_surge": 0, "max_unavailable": 1}, fits: []bool{false, false, true, false}},
		{name: "no room, N > 1, seconds allowed", deploy: auto + "instances = 2", constraints: "max_extra_instances = 0\ndowntime = \"seconds\"",
			want: "rolling", settings: map[string]any{"instances": 2, "max_surge": 0, "max_unavailable": 1}, fits: []bool{true, false, true, false}},
		{name: "no room, one instance, no downtime", deploy: auto, constraints: "max_extra_instances = 0",
			errKey: "constraints.max_extra_instances", fits: []bool{false, false, false, false}},
		{name: "no room, one instance, seconds", deploy: auto, constraints: "max_extra_instances = 0\ndowntime = \"seconds\"",
			want: "restart", settings: map[string]any{"stop_first": true}, fits: []bool{true, false, false, false}},
		{name: "seconds with room still bluegreen", deploy: auto, constraints: "downtime = \"seconds\"",
			want: "bluegreen", settings: map[string]any{"instances": 1}, fits: []bool{true, true, true, true}},
		{name: "explicit strategy is kept", deploy: `strategy = "restart"`, constraints: "downtime = \"seconds\"",
			want: "restart", settings: map[string]any{"stop_first": true}, fits: []bool{true, true, true, true}},
		{name: "[deploy.canary] present: canary with its steps", deploy: auto + "instances = 2\n[deploy.canary]\nsteps = [5, 100]\nstep_for = \"30s\"", constraints: "max_extra_instances = 2",
			want: "canary", settings: map[string]any{"instances": 2, "steps": []int{5, 100}, "step_for": "30s"}, fits: []bool{false, true, true, true}},
		{name: "[deploy.canary] that does not fit: the rules choose", deploy: auto + "instances = 2\n[deploy.canary]\nstep_for = \"manual\"", constraints: "max_extra_instances = 1",
			want: "rolling", settings: map[string]any{"instances": 2, "max_surge": 1, "max_unavailable": 0}, fits: []bool{false, false, true, false}},
		{name: "explicit bluegreen on a singleton is kept, not fitting", deploy: `strategy = "bluegreen"`, constraints: "singleton = true",
			want: "bluegreen", settings: map[string]any{"instances": 1}, fits: []bool{true, false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Make(app(t, tt.worker, tt.deploy, tt.constraints), Timings{})
			var pe *Error
			switch {
			case tt.want == "" && (!errors.As(err, &pe) || !errors.Is(err, ErrNoFit) || pe.Key != tt.errKey || p.Strategy != ""):
				t.Fatalf("Make = %q, %v; want an *Error at %s", p.Strategy, err, tt.errKey)
			case tt.want != "" && err != nil:
				t.Fatalf("Make: %v", err)
			case tt.want != "":
				if p.Strategy != tt.want {
					t.Errorf("strategy = %q (%s), want %q", p.Strategy, p.Reason, tt.want)
				}
				if d := cmp.Diff(tt.settings, p.Settings); d != "" {
					t.Errorf("settings (-want +got):\n%s", d)
				}
			}
			var strategies []string
			var fits []bool
			for _, o := range p.Options {
				strategies, fits = append(strategies, o.Strategy), append(fits, o.Fits)
				if o.Why == "" || o.Downtime == "" || o.Rollback == "" || o.Duration == "" {
					t.Errorf("option %s has an empty column: %+v", o.Strategy, o)
				}
			}
			if d := cmp.Diff([]string{"restart", "bluegreen", "rolling", "canary"}, strategies); d != "" {
				t.Errorf("options (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.fits, fits); d != "" {
				t.Errorf("fits restart, bluegreen, rolling, canary (-want +got):\n%s", d)
			}
			if p.Strategy != "" && !p.option(p.Strategy).Fits && p.Auto {
				t.Errorf("auto chose %s, which does not fit", p.Strategy)
			}
		})
	}
}

// TestChooseSpace walks the whole constraint space and checks the rules'
// invariants (see checkInvariants).
func TestChooseSpace(t *testing.T) {
	t.Parallel()
	for _, worker := range []bool{false, true} {
		for _, singleton := range []bool{false, true} {
			for _, seconds := range []bool{false, true} {
				for n := 1; n <= 4; n++ {
					for extra := 0; extra <= 5; extra++ {
						if singleton && n > 1 {
							continue // refused by the spec
						}
						checkInvariants(t, worker, singleton, seconds, n, extra)
					}
				}
			}
		}
	}
}

// FuzzChoose checks the same invariants over any instances and room.
func FuzzChoose(f *testing.F) {
	f.Add(false, false, false, uint8(1), uint8(1))
	f.Add(true, true, true, uint8(1), uint8(3))
	f.Add(false, false, false, uint8(4), uint8(2))
	f.Add(false, false, true, uint8(2), uint8(0))
	f.Add(false, false, false, uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, worker, singleton, seconds bool, n, extra uint8) {
		if n == 0 || (singleton && n > 1) {
			return // refused by the spec
		}
		checkInvariants(t, worker, singleton, seconds, int(n), int(extra))
	})
}

// checkInvariants: auto never picks an option that does not fit, never
// runs two copies of a singleton, never exceeds the room, never gives a gap
// under downtime = "none", never picks canary unasked, and fails only when
// no option fits.
func checkInvariants(t *testing.T, worker, singleton, seconds bool, n, extra int) {
	t.Helper()
	downtime := "none"
	if seconds {
		downtime = "seconds"
	}
	name := fmt.Sprintf("worker=%t/singleton=%t/downtime=%s/n=%d/extra=%d", worker, singleton, downtime, n, extra)
	a := app(t, worker, fmt.Sprintf("strategy = \"auto\"\ninstances = %d", n),
		fmt.Sprintf("singleton = %t\ndowntime = %q\nmax_extra_instances = %d", singleton, downtime, extra))
	p, err := Make(a, Timings{})
	anyFits := false
	for _, o := range p.Options {
		anyFits = anyFits || (o.Fits && o.Strategy != "canary")
	}
	if err != nil {
		if anyFits {
			t.Errorf("%s: %v, but an option fits", name, err)
		}
		return
	}
	o := p.option(p.Strategy)
	switch {
	case !o.Fits:
		t.Errorf("%s: chose %s, which does not fit: %s", name, p.Strategy, o.Why)
	case o.ExtraInstances > extra:
		t.Errorf("%s: chose %s with %d extra instances", name, p.Strategy, o.ExtraInstances)
	case singleton && p.Strategy != "restart":
		t.Errorf("%s: a singleton got %s", name, p.Strategy)
	case p.Strategy == "canary":
		t.Errorf("%s: canary chosen without being asked", name)
	case downtime == "none" && o.Downtime != "none":
		t.Errorf("%s: chose %s with downtime %s", name, p.Strategy, o.Downtime)
	}
}

func TestNoFitMessageSaysWhatToRelax(t *testing.T) {
	t.Parallel()
	_, err := Make(app(t, false, `strategy = "auto"`, "max_extra_instances = 0"), Timings{})
	for _, want := range []string{"max_extra_instances = 1", "instances = 2", `downtime = "seconds"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not suggest %s", err, want)
		}
	}
}
