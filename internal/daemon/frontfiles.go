package daemon

import (
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/berth-dev/berth/internal/front"
	"github.com/berth-dev/berth/internal/spec"
)

// frontFiles hands an unprivileged front the files it must read that
// only root may: an app's tls = { cert, key } and [front.acme] ca_root.
// The daemon reads them and writes a copy, 0600 and owned by the front's
// user, under the front's run directory (tls/), where every later front
// finds it too; a deploy copies them afresh. Without a user the front
// reads the originals. Safe for concurrent use (each copy is written to
// a temporary file and renamed).
type frontFiles struct {
	runDir string
	user   *front.User
}

// give returns the path the front reads src at: a copy named name
// (slash-separated, under tls/) when the front runs as its own user.
// The copy is made through os.Root: run/front belongs to the front's
// user, and a link it planted there must not lead root's write elsewhere.
func (ff frontFiles) give(name, src string) (string, error) {
	if ff.user == nil || src == "" {
		return src, nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("reading %s for the front: %w", src, err)
	}
	root, err := os.OpenRoot(ff.runDir)
	if err != nil {
		return "", fmt.Errorf("opening the front's run directory: %w", err)
	}
	defer root.Close()
	rel := path.Join("tls", name)
	if err := writeOwned(root, rel, b, ff.user); err != nil {
		return "", fmt.Errorf("copying %s for the front: %w", src, err)
	}
	return filepath.Join(ff.runDir, filepath.FromSlash(rel)), nil
}

// writeOwned writes b to rel in root atomically (temporary file, fsync,
// rename), 0600 and owned by u, its directories 0700 and u's.
func writeOwned(root *os.Root, rel string, b []byte, u *front.User) error {
	dir := path.Dir(rel)
	if err := root.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for d := dir; d != "."; d = path.Dir(d) {
		if err := root.Lchown(d, int(u.UID), int(u.GID)); err != nil {
			return err
		}
	}
	tmp := fmt.Sprintf("%s.tmp-%d", rel, os.Getpid())
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_EXCL, 0o600)
	if err != nil {
		_ = root.Remove(tmp) // a previous daemon's, cut short
		if f, err = root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return err
		}
	}
	defer root.Remove(tmp) // fails once renamed
	_, err = f.Write(b)
	if err == nil {
		err = f.Chown(int(u.UID), int(u.GID))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return root.Rename(tmp, rel)
}

// routeTLS returns svc's TLS as the front reads it: the files of
// tls = { cert, key } given to an unprivileged front as copies.
func (ff frontFiles) routeTLS(app string, t spec.TLS) (front.TLSSpec, error) {
	out := front.TLSSpec{Mode: t.Mode, Cert: t.Cert, Key: t.Key}
	var err error
	if out.Cert, err = ff.give(app+"/cert.pem", t.Cert); err != nil {
		return front.TLSSpec{}, err
	}
	if out.Key, err = ff.give(app+"/key.pem", t.Key); err != nil {
		return front.TLSSpec{}, err
	}
	return out, nil
}
