package e2e

import (
	"strings"
	"testing"
)

// TestCheckPauseResume: `berth check pause APP` and `resume` reach the
// daemon's monitor and are journaled with who ran them; an unknown app is
// exit 6.
func TestCheckPauseResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustDeploy(app{name: "cp", version: "v1", mode: "good", listen: freePort(t)})
	if r := e.berth("check", "pause", "cp"); r.code != 0 || !strings.Contains(r.stdout, "paused") {
		t.Fatalf("berth check pause: %s", r)
	}
	if r := e.berth("check", "resume", "cp"); r.code != 0 || !strings.Contains(r.stdout, "resumed") {
		t.Fatalf("berth check resume: %s", r)
	}
	if r := e.berth("check", "pause", "nosuch"); r.code != 6 {
		t.Errorf("berth check pause of an unknown app: %s, want exit 6", r)
	}
	r := e.berth("events", "cp")
	for _, want := range []string{"checks.paused", "checks.resumed", "by root"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("berth events cp has no %q:\n%s", want, r.stdout)
		}
	}
}
