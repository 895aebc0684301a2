package disk

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/config"
)

// mountTmpfs mounts a 4 MiB tmpfs with 64 inodes, or skips the test when
// this process may not mount (not root, or no CAP_SYS_ADMIN in a container).
func mountTmpfs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m,nr_inodes=64", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir
}

func TestRealTmpfsFillsUp(t *testing.T) {
	t.Parallel()
	mnt := mountTmpfs(t)
	rec := &recorder{}
	cfg := config.DiskDefaults(mnt)
	cfg.For = 1
	w := New([]config.Disk{cfg}, Options{Alerts: rec})

	r := w.Check(t.Context())[0]
	if r.Total != 4<<20 || r.UsedPct > 1 || r.Status != LevelOK {
		t.Fatalf("empty tmpfs reading = %+v", r)
	}
	write := func(name string, size int) {
		if err := os.WriteFile(filepath.Join(mnt, name), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a", 3400<<10) // 83% of 4 MiB
	if r := w.Check(t.Context())[0]; r.Levels[CondUsed] != LevelWarning || r.UsedPct < 80 || r.UsedPct > 90 {
		t.Errorf("at 83%%: %+v", r)
	}
	write("b", 400<<10) // 92%
	if r := w.Check(t.Context())[0]; r.Levels[CondUsed] != LevelCritical {
		t.Errorf("at 92%%: %+v", r)
	}
	for i := range 60 { // inodes: 64 in all, the root takes one
		write(filepath.Base(t.Name())+string(rune('A'+i)), 0)
	}
	if r := w.Check(t.Context())[0]; r.Levels[CondInodes] != LevelCritical || r.InodesPct < 95 {
		t.Errorf("after 60 files: %+v", r)
	}
	if err := os.Remove(filepath.Join(mnt, "a")); err != nil {
		t.Fatal(err)
	}
	if r := w.Check(t.Context())[0]; r.Levels[CondUsed] != LevelOK {
		t.Errorf("after removing a: %+v", r)
	}
	want := []string{"fire warning disk:" + mnt + ":used", "fire critical disk:" + mnt + ":used",
		"fire critical disk:" + mnt + ":inodes", "resolve disk:" + mnt + ":used"}
	got := rec.got()
	if len(got) != len(want) {
		t.Fatalf("alerts = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("alert %d = %q, want %q", i, got[i], want[i])
		}
	}
}
