package daemon

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/berth-dev/berth/internal/front"
	"github.com/berth-dev/berth/internal/spec"
)

// TestFrontFilesCopies: for an unprivileged front the daemon copies a
// root-only certificate and key into run/front/tls, 0600 and the front
// user's; a link the front planted there is replaced, never written
// through. Without a user the original paths are kept. Needs root.
func TestFrontFilesCopies(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only root gives files to another user")
	}
	base := t.TempDir()
	run := filepath.Join(base, "front")
	if err := os.MkdirAll(filepath.Join(run, "tls", "web"), 0o700); err != nil {
		t.Fatal(err)
	}
	cert, key, victim := filepath.Join(base, "c.pem"), filepath.Join(base, "k.pem"), filepath.Join(base, "victim")
	for f, body := range map[string]string{cert: "CERT", key: "KEY", victim: "keep"} {
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(victim, filepath.Join(run, "tls", "web", "key.pem")); err != nil {
		t.Fatal(err)
	}
	in := spec.TLS{Mode: spec.TLSFile, Cert: cert, Key: key}
	got, err := frontFiles{runDir: run}.routeTLS("web", in)
	if err != nil || got.Cert != cert || got.Key != key {
		t.Fatalf("without a user: %+v, %v; want the originals", got, err)
	}
	ff := frontFiles{runDir: run, user: &front.User{Name: "nobody", UID: 65534, GID: 65534}}
	got, err = ff.routeTLS("web", in)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{got.Cert: "CERT", got.Key: "KEY", victim: "keep"} {
		b, err := os.ReadFile(p)
		if err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", p, b, err, want)
		}
	}
	for _, p := range []string{got.Cert, got.Key, filepath.Join(run, "tls", "web")} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || fi.Mode()&os.ModeSymlink != 0 {
			t.Errorf("%s: owner %d mode %v; want the front user's, not a link", p, st.Uid, fi.Mode())
		}
	}
	if fi, _ := os.Stat(got.Key); fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %04o, want 0600", got.Key, fi.Mode().Perm())
	}
	if filepath.Dir(got.Cert) != filepath.Join(run, "tls", "web") {
		t.Errorf("copy at %s, want under %s", got.Cert, filepath.Join(run, "tls", "web"))
	}
}
