package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletionAsksDaemon: tab completion of APP lists the daemon's apps and
// of --to the app's releases; with no daemon it is empty and quiet.
func TestCompletionAsksDaemon(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustDeploy(app{name: "compl", version: "v1", mode: "good", listen: freePort(t)})
	rel := e.latest("compl").Release
	if r := e.berth("__complete", "status", ""); r.code != 0 || !strings.Contains(r.stdout, "compl\n") {
		t.Errorf("completing status APP: want compl, got %s", r)
	}
	if r := e.berth("__complete", "rollback", "compl", "--to", ""); r.code != 0 || !strings.Contains(r.stdout, rel+"\n") {
		t.Errorf("completing rollback --to: want %s, got %s", rel, r)
	}
	r := runBerth(filepath.Join(t.TempDir(), "none"), "__complete", "why", "")
	if r.code != 0 || strings.Contains(r.stdout+r.stderr, "daemon") || strings.HasPrefix(r.stdout, "compl") {
		t.Errorf("completing with no daemon: want empty and quiet, got %s", r)
	}
}

// TestVersionIsNotDev: berth reports the version Go recorded, not a placeholder.
func TestVersionIsNotDev(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--version"}, {"version"}} {
		r := runBerth(t.TempDir(), args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "berth version ") || strings.Contains(r.stdout, "dev\n") {
			t.Errorf("berth %v: %s", args, r)
		}
	}
}
