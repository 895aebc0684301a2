package deploy

import (
	"errors"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/spec"
)

func TestParseSpecResolvesAuto(t *testing.T) {
	t.Parallel()
	const head = "version = 1\nname = \"a\"\n[run]\ncommand = [\"./a\"]\n"
	const svc = "[service]\nlisten = \"127.0.0.1:8080\"\n"
	tests := []struct {
		name      string
		toml      string
		strategy  string // want, or "" for an invalid spec
		line, col int
		key, msg  string
		// rolling: the settings the planner chose
		surge, unavailable int
	}{
		{name: "auto service with room", toml: head + svc + "[deploy]\nstrategy = \"auto\"\n", strategy: spec.StrategyBlueGreen},
		{name: "auto singleton bot", toml: head + "[deploy]\nstrategy = \"auto\"\n[constraints]\nsingleton = true\n", strategy: spec.StrategyRestart},
		{name: "explicit strategy untouched", toml: head + svc + "[deploy]\nstrategy = \"restart\"\n", strategy: spec.StrategyRestart},
		{name: "nothing fits", toml: head + svc + "[deploy]\nstrategy = \"auto\"\n[constraints]\nmax_extra_instances = 0\n",
			line: 10, col: 23, key: "constraints.max_extra_instances", msg: "relax one"},
		{name: "rolling with the room as surge", toml: head + svc + "[deploy]\nstrategy = \"auto\"\ninstances = 3\n[constraints]\nmax_extra_instances = 2\n",
			strategy: spec.StrategyRolling, surge: 2, unavailable: 0},
		{name: "rolling one down without room", toml: head + svc + "[deploy]\nstrategy = \"auto\"\ninstances = 3\n[constraints]\nmax_extra_instances = 0\n",
			strategy: spec.StrategyRolling, surge: 0, unavailable: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			app, err := ParseSpec("berth.toml", []byte(tt.toml))
			if tt.strategy != "" {
				if err != nil || app.Deploy.Strategy != tt.strategy {
					t.Fatalf("ParseSpec = %v, %v; want strategy %s", app, err, tt.strategy)
				}
				d := app.Deploy
				if d.Strategy == spec.StrategyRolling && (d.MaxSurge != tt.surge || d.MaxUnavailable != tt.unavailable) {
					t.Errorf("rolling with max_surge %d, max_unavailable %d; want %d and %d", d.MaxSurge, d.MaxUnavailable, tt.surge, tt.unavailable)
				}
				return
			}
			var se *spec.Errors
			if !errors.As(err, &se) || len(se.Problems) != 1 {
				t.Fatalf("ParseSpec error = %v; want one spec problem", err)
			}
			p := se.Problems[0]
			if p.File != "berth.toml" || p.Line != tt.line || p.Col != tt.col || p.Key != tt.key || !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("problem = %s; want berth.toml:%d:%d: %s: ...%s...", p, tt.line, tt.col, tt.key, tt.msg)
			}
		})
	}
}

// TestSpecCacheSeesResolvedStrategy: the monitor reads deployed specs
// through the cache, and must see the strategy the deploy ran.
func TestSpecCacheSeesResolvedStrategy(t *testing.T) {
	t.Parallel()
	data := []byte("version = 1\nname = \"a\"\n[run]\ncommand = [\"./a\"]\n[service]\nlisten = \"127.0.0.1:8080\"\n[deploy]\nstrategy = \"auto\"\n")
	a, err := newSpecCache().parse("a", "berth.toml", data)
	if err != nil || a.Deploy.Strategy != spec.StrategyBlueGreen {
		t.Fatalf("cache parse = %v, %v; want bluegreen", a, err)
	}
}
