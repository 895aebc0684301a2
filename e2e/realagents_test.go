package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// needBinary skips the test when a program it deploys is not installed.
func needBinary(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed", name)
	}
	return p
}

// release writes a release directory of files (berth.toml among them)
// under the env's home and returns the path of its berth.toml; the app is
// registered for cleanup.
func (e *env) release(name, version string, files map[string]string) string {
	e.t.Helper()
	dir := filepath.Join(e.home, "src", name+"-"+version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	for f, text := range files {
		mode := os.FileMode(0o644)
		if filepath.Ext(f) == ".sh" {
			mode = 0o755
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(text), mode); err != nil {
			e.t.Fatal(err)
		}
	}
	e.mu.Lock()
	e.apps[name] = true
	e.mu.Unlock()
	return filepath.Join(dir, "berth.toml")
}

// deployFile deploys the spec at p and fails the test unless it goes live.
func (e *env) deployFile(name, p string) {
	e.t.Helper()
	r := e.berth("deploy", "-f", p)
	e.notePIDs(name)
	if r.code != 0 {
		e.t.Fatalf("deploy %s: %s\ndaemon log:\n%s", p, r, e.daemonLog())
	}
}

// ownUser returns a fresh app name, so its dedicated user berth-<name> is
// new, and removes that user at the end (after the env's cleanup, which
// must therefore be registered later).
func ownUser(t *testing.T, prefix string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: only a root daemon runs an agent as its own user")
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := prefix + hex.EncodeToString(b)
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", "berth-"+name).CombinedOutput(); err != nil {
			t.Logf("userdel berth-%s: %v: %s", name, err, out)
		}
	})
	return name
}
