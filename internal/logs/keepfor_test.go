package logs

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Rotated files older than KeepFor go at the next housekeeping pass; newer
// ones stay.
func TestKeepFor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "blue.log")
	old := path + "." + time.Now().Add(-48*time.Hour).UTC().Format(TimeFormatRotated)
	recent := path + "." + time.Now().Add(-time.Hour).UTC().Format(TimeFormatRotated)
	for _, f := range []string{old, recent} {
		if err := os.WriteFile(f, []byte("x\n"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	w, err := Open(path, Options{MaxSize: 64, Keep: -1, KeepFor: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ { // a few rotations run the housekeeping
		if err := w.WriteLine(Stdout, time.Now(), []byte("a line long enough to rotate the file soon")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the 48h-old rotated file is still there (err %v)", err)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("the 1h-old rotated file is gone: %v", err)
	}
}
