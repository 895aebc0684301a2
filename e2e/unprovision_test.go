package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestUnprovisionPurgeRunningApp: `berth unprovision --purge` of a running
// app whose agent runs as its own berth-<app> user stops the app through
// the daemon first, deletes the user only once its processes are gone,
// and leaves a status that no longer lists the app.
func TestUnprovisionPurgeRunningApp(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root: unprovision and dedicated users are root's")
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := "unp" + hex.EncodeToString(b)
	user := "berth-" + name
	// Runs last (cleanups are last-in first-out): a user the test failed to
	// delete goes once its agent, the daemon and the keeper are gone.
	t.Cleanup(func() {
		if exec.Command("id", "-u", user).Run() == nil {
			_ = exec.Command("userdel", user).Run()
		}
	})
	e := newEnv(t)
	port := freePort(t)
	empty := ""
	e.mustDeploy(app{name: name, version: "v1", mode: "good", listen: port, user: &empty})
	e.waitAnswer(port, "hello from v1")
	pid := e.liveInstance(name).PID

	if r := e.berth("unprovision", "--purge", name); r.code != 0 {
		t.Fatalf("berth unprovision --purge of a running app: %s", r)
	}
	if alive(pid) {
		t.Errorf("agent pid %d still runs after unprovision --purge", pid)
	}
	if exec.Command("id", "-u", user).Run() == nil {
		t.Errorf("user %s is still there", user)
	}
	if r := e.berth("status", name); r.code != 6 {
		t.Errorf("berth status after unprovision --purge: want exit 6 (unknown app), got %s", r)
	}
	if _, err := os.Stat(filepath.Join(e.home, "apps", name)); err == nil {
		t.Errorf("unprovision --purge left the app's directory")
	}
	if err := refuses(port); err != nil {
		t.Error(err)
	}
}
