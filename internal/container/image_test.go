package container

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
)

// TestBuildPinPrune: build = "." builds the release's Dockerfile once per
// release with progress; a release keeps running the image it first ran
// after its tag moved (what rollback --to relies on); pruning a release
// removes its image, never one a kept release is pinned to.
func TestBuildPinPrune(t *testing.T) {
	home := t.TempDir()
	r := newRuntime(t, Docker, home)
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	rel := filepath.Join(home, "releases", "r1")
	if err := os.MkdirAll(rel, 0o755); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(rel, "agent"), "github.com/berth-dev/berth/internal/container/testdata/agent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	df := "FROM scratch\nCOPY agent /agent\nENTRYPOINT [\"/agent\"]\n"
	if err := os.WriteFile(filepath.Join(rel, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	inst := testInstance(home, "blue", freePort(t))
	inst.Image, inst.Build, inst.Dir, inst.Release = "", ".", rel, "r1"
	var progress []string
	desc, err := r.PrepareImage(ctx, inst, func(s string) { progress = append(progress, s) })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(desc, "berth-app:r1 sha256:") || len(progress) == 0 {
		t.Errorf("PrepareImage = %q with progress %q", desc, progress)
	}
	if _, err := r.Start(ctx, inst); err != nil {
		t.Fatal(err)
	}
	waitUp(t, inst.Port)
	if _, err := r.Stop(ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
	built := r.ImageOf("app", "r1")

	// Release r2 runs the test agent by tag; then the tag moves to another
	// image: r2 still runs the image it first ran.
	r2 := testInstance(home, "green", freePort(t))
	r2.Release = "r2"
	if _, err := r.PrepareImage(ctx, r2, nil); err != nil {
		t.Fatal(err)
	}
	first := r.ImageOf("app", "r2")
	if _, err := engine(t, Docker).CLI(ctx, nil, "tag", "berth-app:r1", "berth-test-agent:1"); err != nil {
		t.Fatal(err)
	}
	_, err = r.Start(ctx, r2)
	if _, terr := engine(t, Docker).CLI(ctx, nil, "tag", first, "berth-test-agent:1"); terr != nil {
		t.Fatal(terr)
	}
	if err != nil {
		t.Fatal(err)
	}
	ins, err := mobyClient(t, r).ContainerInspect(ctx, r.Name(r2.ID), containerInspectOpts())
	if err != nil {
		t.Fatal(err)
	}
	if ins.Container.Image != first || first == built {
		t.Errorf("release r2 runs %s after its tag moved, want its pinned %s (built %s)", ins.Container.Image, first, built)
	}
	r.Stop(ctx, r2.ID)
	r.Remove(ctx, r2.ID)

	// Pruning r1 removes the built image once no container uses it; r2's
	// pin stays.
	if err := r.Remove(ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
	removed, err := r.PruneImages(ctx, "app", []string{"r1"})
	if err != nil || len(removed) != 1 || removed[0] != built {
		t.Errorf("PruneImages = %v, %v; want [%s]", removed, err, built)
	}
	if _, err := mobyClient(t, r).ImageInspect(ctx, built); !cerrdefs.IsNotFound(err) {
		t.Errorf("the pruned release's image is still there: %v", err)
	}
	if r.ImageOf("app", "r1") != "" || r.ImageOf("app", "r2") != first {
		t.Errorf("pins after prune: r1 %q, r2 %q", r.ImageOf("app", "r1"), r.ImageOf("app", "r2"))
	}
}
