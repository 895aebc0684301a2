package upload

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const h0 = "0000000000000000000000000000000000000000000000000000000000000000"

func TestCheckRefuses(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
	}{
		{"dotdot", Entry{Path: "../x", Type: TypeDir}},
		{"absolute", Entry{Path: "/etc/passwd", Type: TypeFile, Hash: h0}},
		{"unclean", Entry{Path: "a//b", Type: TypeDir}},
		{"inner dotdot", Entry{Path: "a/../../b", Type: TypeDir}},
		{"dot", Entry{Path: ".", Type: TypeDir}},
		{"backslash", Entry{Path: `a\..\b`, Type: TypeDir}},
		{"bad hash", Entry{Path: "f", Type: TypeFile, Hash: "../../x"}},
		{"device", Entry{Path: "d", Type: "device"}},
		{"link without target", Entry{Path: "l", Type: TypeSymlink}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := (Manifest{Entries: []Entry{tt.e}}).Check(10); !errors.Is(err, ErrBadManifest) {
				t.Fatalf("Check(%+v) = %v, want ErrBadManifest", tt.e, err)
			}
		})
	}
	dup := Manifest{Entries: []Entry{{Path: "a", Type: TypeDir}, {Path: "a", Type: TypeDir}}}
	if err := dup.Check(10); !errors.Is(err, ErrBadManifest) {
		t.Fatalf("duplicate: %v", err)
	}
}

// TestRoundTrip: a scanned tree, uploaded into a store, assembles into the
// same files; a second upload needs nothing; Prune keeps what a kept
// manifest names.
func TestRoundTrip(t *testing.T) {
	src := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(src, "bin"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "bin", "run"), []byte("#!/bin/sh\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "a.txt"), []byte("same"), 0o644))
	must(t, os.WriteFile(filepath.Join(src, "b.txt"), []byte("same"), 0o600))
	must(t, os.Symlink("a.txt", filepath.Join(src, "link")))
	l, err := ScanDir(src)
	must(t, err)
	st := NewStore(filepath.Join(t.TempDir(), "app"))
	missing, err := st.Missing(l.Manifest.Hashes())
	must(t, err)
	if len(missing) != 2 {
		t.Fatalf("missing %d contents, want 2 (a.txt and b.txt are one)", len(missing))
	}
	var buf bytes.Buffer
	_, err = l.WriteObjects(&buf, missing)
	must(t, err)
	n, _, err := st.Receive(context.Background(), &buf, 1<<20)
	must(t, err)
	if n != 2 {
		t.Fatalf("stored %d objects, want 2", n)
	}
	if missing, _ = st.Missing(l.Manifest.Hashes()); len(missing) != 0 {
		t.Fatalf("after upload still missing %v", missing)
	}
	dir, cleanup, err := st.Assemble(l.Manifest)
	must(t, err)
	defer cleanup()
	if b, _ := os.ReadFile(filepath.Join(dir, "bin", "run")); string(b) != "#!/bin/sh\n" {
		t.Errorf("bin/run = %q", b)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "bin", "run")); fi.Mode().Perm() != 0o755 {
		t.Errorf("bin/run mode %v, want 0755", fi.Mode().Perm())
	}
	if target, _ := os.Readlink(filepath.Join(dir, "link")); target != "a.txt" {
		t.Errorf("link -> %q", target)
	}
	// Nothing installed keeps the objects: once old enough they go.
	removed, err := st.Prune(time.Now().Add(2 * PruneGrace))
	must(t, err)
	if removed != 2 {
		t.Errorf("pruned %d objects, want 2", removed)
	}
}

func TestReceiveRefusesWrongContent(t *testing.T) {
	src := t.TempDir()
	must(t, os.WriteFile(filepath.Join(src, "f"), []byte("real"), 0o644))
	l, err := ScanDir(src)
	must(t, err)
	h := l.Manifest.Hashes()[0]
	must(t, os.WriteFile(filepath.Join(src, "f"), []byte("evil"), 0o644)) // changed after scanning
	var buf bytes.Buffer
	_, err = l.WriteObjects(&buf, []string{h})
	must(t, err)
	st := NewStore(filepath.Join(t.TempDir(), "app"))
	if _, _, err := st.Receive(context.Background(), &buf, 1<<20); !errors.Is(err, ErrBadObject) {
		t.Fatalf("Receive of content not matching its hash: %v, want ErrBadObject", err)
	}
	if missing, _ := st.Missing([]string{h}); len(missing) != 1 {
		t.Fatal("the wrong content was stored")
	}
}

func TestAssembleStaysInside(t *testing.T) {
	st := NewStore(filepath.Join(t.TempDir(), "app"))
	m := Manifest{Entries: []Entry{{Path: "out", Type: TypeSymlink, Target: "/tmp"}, {Path: "out/x", Type: TypeDir}}}
	_, _, err := st.Assemble(m)
	if err == nil || !strings.Contains(err.Error(), "out") {
		t.Fatalf("a directory through a symlink was assembled: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
