package release

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestReleasesNotWorldReadable installs a release and checks that others
// cannot enter it (it may hold config) while the app's group can.
func TestReleasesNotWorldReadable(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "config.toml"), []byte("secret = 1\n"))
	app := filepath.Join(t.TempDir(), "app")
	rel, err := Install(context.Background(), src, app, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	gid := os.Getegid()
	if os.Geteuid() == 0 {
		gid = 4242 // any group: root may give it away
	}
	if err := Share(app, gid); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{app, filepath.Join(app, "releases"), rel.Dir} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o750 {
			t.Errorf("%s: mode %04o, want 0750", d, got)
		}
		if got := fi.Sys().(*syscall.Stat_t).Gid; int(got) != gid {
			t.Errorf("%s: group %d, want %d", d, got, gid)
		}
	}
}
