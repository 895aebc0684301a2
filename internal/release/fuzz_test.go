package release

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzInstallTar feeds arbitrary bytes to Install as an archive and checks
// that nothing outside the releases directory ever changes, that a failed
// install leaves nothing behind, and that every symlink of a successful one
// resolves inside it.
func FuzzInstallTar(f *testing.F) {
	for _, tt := range malicious {
		f.Add(buildTar(f, tt.zip, tt.entries...))
	}
	f.Add(buildTar(f, true, dirEntry("bin/", 0o755), reg("bin/app", 0o755, "x"), link('2', "run", "bin/app"), link('1', "copy", "bin/app")))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := newLayout(t)
		archive := filepath.Join(l.base, "release.tar")
		writeFile(t, archive, data)
		before := snapshot(t, l.base)

		rel, err := Install(context.Background(), archive, l.app, testLimits)

		after := snapshot(t, l.base)
		releases := map[string]string{}
		for p, d := range after {
			if strings.HasPrefix(p, "app/releases/") {
				releases[p] = d
				delete(after, p)
			}
		}
		delete(after, "app")
		delete(after, "app/releases")
		if diff := cmp.Diff(before, after); diff != "" {
			t.Fatalf("files changed outside the releases dir (-before +after):\n%s", diff)
		}
		if err != nil {
			if len(releases) != 0 {
				t.Fatalf("failed install (%v) left files: %v", err, releases)
			}
			return
		}
		checkLinksInside(t, rel.Dir)
	})
}

// checkLinksInside resolves every symlink in dir with the kernel and fails
// if one that resolves lands outside dir.
func checkLinksInside(t *testing.T, dir string) {
	t.Helper()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	for p, d := range snapshot(t, dir) {
		if !strings.HasPrefix(d, "L") {
			continue
		}
		got, err := filepath.EvalSymlinks(filepath.Join(dir, p))
		if err != nil {
			continue // dangling or looping inside: harmless
		}
		if got != real && !strings.HasPrefix(got, real+string(os.PathSeparator)) {
			t.Fatalf("symlink %s resolves to %s, outside %s", p, got, real)
		}
	}
}
