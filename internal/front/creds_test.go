package front

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOwnStaysInside gives a run directory and a storage to another user:
// every file and directory in them changes owner, and a link planted in
// them to a file outside is changed itself, never its target. Needs root.
func TestOwnStaysInside(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only root gives files to another user")
	}
	base := t.TempDir()
	run, store, outside := filepath.Join(base, "run"), filepath.Join(base, "certs"), filepath.Join(base, "secret")
	for _, d := range []string{run, filepath.Join(store, "acme", "ca")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(run, "routes.json"), filepath.Join(store, "acme", "ca", "key"), outside} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(store, "acme", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(base, filepath.Join(run, "up")); err != nil {
		t.Fatal(err)
	}
	const uid, gid = 65534, 65534
	if err := Own(EnsureConfig{RunDir: run, Owned: []string{store}, User: &User{Name: "nobody", UID: uid, GID: gid}}); err != nil {
		t.Fatal(err)
	}
	owner := func(p string) (uint32, os.FileMode) {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Uid, fi.Mode().Perm()
	}
	for _, p := range []string{run, filepath.Join(run, "routes.json"), filepath.Join(run, "up"), store,
		filepath.Join(store, "acme", "ca"), filepath.Join(store, "acme", "ca", "key"), filepath.Join(store, "acme", "link")} {
		if u, _ := owner(p); u != uid {
			t.Errorf("%s: owner %d, want %d", p, u, uid)
		}
	}
	for _, p := range []string{run, store} {
		if _, m := owner(p); m != 0o700 {
			t.Errorf("%s: mode %04o, want 0700", p, m)
		}
	}
	for _, p := range []string{outside, base} {
		if u, _ := owner(p); u != 0 {
			t.Errorf("%s (outside, behind a link): owner %d, want root still", p, u)
		}
	}
}

// TestProcAttr: a front for a User gets its ids, no groups and
// CAP_NET_BIND_SERVICE only; without one, its own session and nothing else.
func TestProcAttr(t *testing.T) {
	t.Parallel()
	a := procAttr(&User{Name: "f", UID: 7, GID: 8})
	if !a.Setsid || a.Credential == nil || a.Credential.Uid != 7 || a.Credential.Gid != 8 || a.Credential.Groups == nil ||
		len(a.Credential.Groups) != 0 || a.Credential.NoSetGroups || len(a.AmbientCaps) != 1 || a.AmbientCaps[0] != 10 {
		t.Errorf("procAttr(user) = %+v (cred %+v)", a, a.Credential)
	}
	if a := procAttr(nil); !a.Setsid || a.Credential != nil || a.AmbientCaps != nil {
		t.Errorf("procAttr(nil) = %+v", a)
	}
}
