package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestTarballReleaseCarriesItsSpec deploys `berth deploy app.tar.gz` with no
// -f: the berth.toml inside the archive is used, and the archive's single
// top directory is stripped, so the release holds berth.toml at its root.
func TestTarballReleaseCarriesItsSpec(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := app{name: "tarred", version: "v1", mode: "good", listen: port}
	src := filepath.Join(t.TempDir(), "tarred-1.0")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "berth.toml"), []byte(a.spec()), 0o644); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "tarred-1.0.tar.gz")
	if out, err := exec.Command("tar", "-C", filepath.Dir(src), "-czf", archive, filepath.Base(src)).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	e.mu.Lock()
	e.apps[a.name] = true
	e.mu.Unlock()
	r := e.berth("deploy", archive)
	e.notePIDs(a.name)
	if r.code != 0 {
		t.Fatalf("berth deploy %s: %s", archive, r)
	}
	e.waitAnswer(port, "hello from v1")
	rel := e.status(a.name).Release
	dir := filepath.Join(e.home, "apps", a.name, "releases", rel)
	if _, err := os.Stat(filepath.Join(dir, "berth.toml")); err != nil {
		t.Errorf("release %s has no berth.toml at its root (top directory not stripped): %v", dir, err)
	}
}
