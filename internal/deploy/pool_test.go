package deploy

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/state"
)

// The live set of a color is every instance but those out for readiness
// on the color's release; when all are out, all serve.
func TestServingLeavesOutFailingInstances(t *testing.T) {
	t.Parallel()
	st := state.App{Name: "web", Live: Blue,
		Colors: map[string]state.Color{Blue: {Release: "r2", Instances: 3}},
		Ports:  map[string]int{"blue": 9000, "blue.1": 9001, "blue.2": 9002}}
	tests := []struct {
		name    string
		out     map[string]string // slot -> release marked out
		want    []string
		wantOut int
	}{
		{name: "none out", want: []string{"blue", "blue.1", "blue.2"}},
		{name: "one out", out: map[string]string{"blue.1": "r2"}, want: []string{"blue", "blue.2"}, wantOut: 1},
		{name: "two out", out: map[string]string{"blue": "r2", "blue.2": "r2"}, want: []string{"blue.1"}, wantOut: 2},
		{name: "all out: all stay", out: map[string]string{"blue": "r2", "blue.1": "r2", "blue.2": "r2"},
			want: []string{"blue", "blue.1", "blue.2"}},
		{name: "out on an older release", out: map[string]string{"blue.1": "r1"}, want: []string{"blue", "blue.1", "blue.2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := &Engine{pool: newPool()}
			for slot, rel := range tt.out {
				if !e.pool.mark("web", slot, rel, true) {
					t.Fatalf("marking %s out changed nothing", slot)
				}
			}
			ms, out := e.serving(st, Blue)
			var got []string
			for _, m := range ms {
				got = append(got, m.Target.Name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" || out != tt.wantOut {
				t.Errorf("serving: %d out (want %d), set (-want +got):\n%s", out, tt.wantOut, diff)
			}
		})
	}
}

// mark reports changes only: marking twice, or back in what is in, is a
// no-op the engine does not switch for.
func TestPoolMarkReportsChanges(t *testing.T) {
	t.Parallel()
	p := newPool()
	steps := []struct {
		out  bool
		rel  string
		want bool
	}{{true, "r1", true}, {true, "r1", false}, {false, "r1", true}, {false, "r1", false}, {true, "r1", true}, {true, "r2", true}}
	for i, s := range steps {
		if got := p.mark("web", "blue.1", s.rel, s.out); got != s.want {
			t.Errorf("step %d: mark(out=%v, %s) = %v, want %v", i, s.out, s.rel, got, s.want)
		}
	}
	if !p.isOut("web", "blue.1", "r2") || p.isOut("web", "blue.1", "r1") {
		t.Error("isOut does not follow the last mark's release")
	}
}
