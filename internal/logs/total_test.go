package logs

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestEnforceTotal(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	// Two apps, each with a live log and rotated files, older in app a.
	write := func(path string, n int) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rot := func(app string, i int) string {
		return filepath.Join(root, app, "blue.log."+base.Add(time.Duration(i)*time.Hour).Format(TimeFormatRotated))
	}
	write(filepath.Join(root, "a", "blue.log"), 100)
	write(filepath.Join(root, "b", "blue.log"), 100)
	write(rot("a", 0), 1000)
	write(rot("b", 1), 1000)
	write(rot("a", 2), 1000)
	write(rot("b", 3)+gzExt, 1000)
	dirs := []string{filepath.Join(root, "a"), filepath.Join(root, "b")}

	n, err := EnforceTotal(dirs, 2500) // 4200 bytes in all: the two oldest go
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("removed %d files, want 2", n)
	}
	for path, want := range map[string]bool{
		rot("a", 0): false, rot("b", 1): false, rot("a", 2): true, rot("b", 3) + gzExt: true,
		filepath.Join(root, "a", "blue.log"): true, filepath.Join(root, "b", "blue.log"): true,
	} {
		if _, err := os.Stat(path); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", path, err == nil, want)
		}
	}
	if n, err := EnforceTotal(dirs, 0); n != 0 || err != nil {
		t.Fatalf("a zero cap must mean no cap: removed %d, %v", n, err)
	}
}
