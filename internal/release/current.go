package release

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// SetCurrent points <appDir>/current at release id. The link is made under
// a temporary name and renamed over the old one, so readers see either the
// old or the new release, never no link. The link is relative, so the app
// directory can be moved.
func SetCurrent(appDir, id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsRune(id, '/') {
		return fmt.Errorf("setting current release %q: %w", id, ErrNotFound)
	}
	info, err := os.Lstat(filepath.Join(appDir, "releases", id))
	if err != nil || !info.IsDir() {
		return fmt.Errorf("setting current release %q: %w", id, ErrNotFound)
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("setting current release: %w", err)
	}
	tmp := filepath.Join(appDir, ".current-"+hex.EncodeToString(rnd[:]))
	if err := os.Symlink(path.Join("releases", id), tmp); err != nil {
		return fmt.Errorf("setting current release: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(appDir, "current")); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("setting current release: %w", err)
	}
	return syncDir(appDir)
}

// Current returns the ID of the release <appDir>/current points at, or an
// error wrapping ErrNoCurrent when there is no such link.
func Current(appDir string) (string, error) {
	target, err := os.Readlink(filepath.Join(appDir, "current"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", ErrNoCurrent
	}
	if err != nil {
		return "", fmt.Errorf("reading current release: %w", err)
	}
	dir, id := path.Split(path.Clean(target))
	if path.Clean(dir) != "releases" || id == "" {
		return "", fmt.Errorf("reading current release: link points at %q, not releases/<id>", target)
	}
	return id, nil
}
