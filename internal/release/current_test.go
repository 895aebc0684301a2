package release

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// installN installs n releases with distinct content, oldest first.
func installN(t *testing.T, app string, n int) []string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := range n {
		writeFile(t, filepath.Join(src, "version"), []byte(strings.Repeat("v", i+1)))
		rel, err := Install(context.Background(), src, app, testLimits)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rel.ID)
	}
	return out
}

func TestPrune(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		keep        int
		protect     []int // indexes into the installed releases
		current     int   // -1: none
		wantRemoved []int
	}{
		{name: "keeps the newest", keep: 2, current: -1, wantRemoved: []int{0, 1, 2}},
		{name: "never removes protected", keep: 2, protect: []int{0}, current: -1, wantRemoved: []int{1, 2}},
		{name: "never removes current", keep: 1, protect: []int{3}, current: 1, wantRemoved: []int{0, 2}},
		{name: "keep more than exist", keep: 10, current: -1},
		{name: "keep zero", keep: 0, current: 4, wantRemoved: []int{0, 1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			app := filepath.Join(t.TempDir(), "app")
			all := installN(t, app, 5)
			if tt.current >= 0 {
				if err := SetCurrent(app, all[tt.current]); err != nil {
					t.Fatal(err)
				}
			}
			var protect []string
			for _, i := range tt.protect {
				protect = append(protect, all[i])
			}
			removed, err := Prune(app, tt.keep, protect...)
			if err != nil {
				t.Fatal(err)
			}
			var want, wantLeft []string
			gone := map[string]bool{}
			for _, i := range tt.wantRemoved {
				want = append(want, all[i])
				gone[all[i]] = true
			}
			for _, id := range all {
				if !gone[id] {
					wantLeft = append(wantLeft, id)
				}
			}
			if diff := cmp.Diff(want, removed); diff != "" {
				t.Errorf("removed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantLeft, ids(t, app)); diff != "" {
				t.Errorf("left (-want +got):\n%s", diff)
			}
			entries, err := os.ReadDir(filepath.Join(app, "releases"))
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != len(wantLeft) {
				t.Errorf("releases dir holds %d entries, want %d (trash left behind?)", len(entries), len(wantLeft))
			}
		})
	}
	t.Run("negative keep", func(t *testing.T) {
		t.Parallel()
		if _, err := Prune(t.TempDir(), -1); err == nil {
			t.Fatal("Prune(-1) succeeded")
		}
	})
}

func TestCurrent(t *testing.T) {
	t.Parallel()
	app := filepath.Join(t.TempDir(), "app")
	if _, err := Current(app); !errors.Is(err, ErrNoCurrent) {
		t.Fatalf("Current before any = %v, want ErrNoCurrent", err)
	}
	rels := installN(t, app, 2)
	for _, bad := range []string{"", "..", "../app", "20990101T000000Z-000000"} {
		if err := SetCurrent(app, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetCurrent(%q) = %v, want ErrNotFound", bad, err)
		}
	}
	if err := SetCurrent(app, rels[0]); err != nil {
		t.Fatal(err)
	}
	got, err := Current(app)
	if err != nil || got != rels[0] {
		t.Fatalf("Current = %q, %v; want %q", got, err, rels[0])
	}
	target, err := os.Readlink(filepath.Join(app, "current"))
	if err != nil || target != "releases/"+rels[0] {
		t.Errorf("link target = %q, %v; want a relative link", target, err)
	}
}

// TestSetCurrentAtomic swaps the link while readers resolve it: a reader
// must always find a release, never a missing link.
func TestSetCurrentAtomic(t *testing.T) {
	t.Parallel()
	app := filepath.Join(t.TempDir(), "app")
	rels := installN(t, app, 2)
	if err := SetCurrent(app, rels[0]); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var misses atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				if _, err := os.Stat(filepath.Join(app, "current", "version")); err != nil {
					misses.Add(1)
				}
			}
		})
	}
	for i := range 300 {
		if err := SetCurrent(app, rels[i%2]); err != nil {
			t.Error(err)
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	if n := misses.Load(); n != 0 {
		t.Errorf("readers missed the current release %d times", n)
	}
	entries, err := os.ReadDir(app)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"current", "releases"}, names); diff != "" {
		t.Errorf("app dir (-want +got):\n%s", diff)
	}
}
