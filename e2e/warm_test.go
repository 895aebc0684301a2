package e2e

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/state"
)

// TestFailedDeployKeepsWarmRollback: v1, then v2 (v1 warm), then a broken
// v3 that fails on v1's color, at its gate or after the switch. When the
// failed deploy returns, v1 runs warm again, so `berth rollback` is still a
// single switch to it: no process is started, and v1's pid is the one
// that serves.
func TestFailedDeployKeepsWarmRollback(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		mode string
		env  map[string]string
	}{
		{name: "fails its gate", mode: "unhealthy"},
		{name: "crashes in the verify window", mode: "crash-late", env: map[string]string{"CRASH_AFTER": "700ms"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testWarmAfterFailure(t, tt.mode, tt.env)
		})
	}
}

func testWarmAfterFailure(t *testing.T, mode string, env map[string]string) {
	e := newEnv(t)
	port := freePort(t)
	a := app{name: "warm", version: "v1", mode: "good", listen: port}
	e.mustDeploy(a)
	v1 := e.liveInstance("warm")
	a.version = "v2"
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v2")

	a.version, a.mode, a.env, a.verify = "v3", mode, env, "3s"
	if r := e.deploy(a); r.code != 3 {
		t.Fatalf("deploy of a %s v3: want exit 3, got %s", mode, r)
	}
	// Straight after the failed deploy returned: v1 is warm and running.
	warmPID := 0
	for _, in := range e.status("warm").Instances {
		if in.Color == v1.Color && in.Warm && in.State == "running" && in.Release == v1.Release {
			warmPID = in.PID
		}
	}
	if warmPID == 0 {
		t.Fatalf("after the failed v3, v1 (%s) is not running warm: %+v", v1.Color, e.status("warm").Instances)
	}
	e.notePIDs("warm")

	if r := e.berth("rollback", "warm"); r.code != 0 {
		t.Fatalf("berth rollback: %s", r)
	}
	d := e.latest("warm")
	if d.Kind != "rollback" || d.Strategy != "switch" || d.Outcome != state.OutcomeSucceeded {
		t.Errorf("rollback after the failed deploy: %s by %s, %s; want a succeeded switch", d.Kind, d.Strategy, d.Outcome)
	}
	for _, s := range d.Steps {
		if !strings.HasPrefix(s.Name, "switch") {
			t.Errorf("rollback ran step %q; want only the switch", s.Name)
		}
	}
	live := e.liveInstance("warm")
	if live.PID != warmPID || live.Release != v1.Release {
		t.Errorf("live after rollback: pid %d release %s; want the warm v1, pid %d release %s", live.PID, live.Release, warmPID, v1.Release)
	}
	e.waitAnswer(port, "hello from v1")
}
