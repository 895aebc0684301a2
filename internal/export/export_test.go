package export_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/export"
	"github.com/berth-dev/berth/internal/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// cases are the specs of testdata/ with the options each is exported with.
var cases = []struct {
	name string
	opts export.Options
}{
	{name: "bluegreen"},
	{name: "rolling"},
	{name: "worker"},
	{name: "auto", opts: export.Options{Image: "web:1"}},
}

var targets = []string{export.TargetSwarm, export.TargetCompose, export.TargetKubernetes}

// load parses a testdata spec as berth export does: auto resolved by the
// planner.
func load(t *testing.T, name string) *spec.App {
	t.Helper()
	file := filepath.Join("testdata", name+".toml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	app, err := deploy.ParseSpec(file, data)
	if err != nil {
		t.Fatalf("parsing %s: %v", file, err)
	}
	return app
}

// TestGolden compares each target's manifest and notes with
// testdata/NAME.TARGET.yaml and .notes (go test -update rewrites them).
func TestGolden(t *testing.T) {
	for _, tc := range cases {
		for _, target := range targets {
			t.Run(tc.name+"/"+target, func(t *testing.T) {
				res, err := export.Export(target, load(t, tc.name), tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				var notes strings.Builder
				for _, n := range res.Notes {
					notes.WriteString(n.String() + "\n")
				}
				golden(t, filepath.Join("testdata", tc.name+"."+target+".yaml"), string(res.Manifest))
				golden(t, filepath.Join("testdata", tc.name+"."+target+".notes"), notes.String())
			})
		}
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, d)
	}
}

// TestNoImage: a spec that runs a host command has no image to export
// unless one is given.
func TestNoImage(t *testing.T) {
	_, err := export.Export(export.TargetSwarm, load(t, "auto"), export.Options{})
	if err == nil || !strings.Contains(err.Error(), "--image") {
		t.Fatalf("got %v, want an error naming --image", err)
	}
}
