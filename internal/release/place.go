package release

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// maxIDTries bounds the search for a free ID when installs race.
const maxIDTries = 100

// place renames the finished tmp directory to its release ID. IDs must sort
// by age, so the time part is moved past the newest existing release when
// the clock has not (two installs in one second, or a clock set back); a
// no-replace rename settles races between concurrent installs.
func place(tmp, releases, sum string) (Release, error) {
	if err := os.Chmod(tmp, 0o750); err != nil {
		return Release{}, fmt.Errorf("setting release directory mode: %w", err)
	}
	t := time.Now().UTC().Truncate(time.Second)
	existing, err := list(releases)
	if err != nil {
		return Release{}, err
	}
	if n := len(existing); n > 0 && !existing[n-1].Created.Before(t) {
		t = existing[n-1].Created.Add(time.Second)
	}
	for range maxIDTries {
		id := t.Format(idTime) + "-" + sum
		dst := filepath.Join(releases, id)
		err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
		if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
			t = t.Add(time.Second)
			continue
		}
		if err != nil {
			return Release{}, fmt.Errorf("moving release into place: %w", err)
		}
		if err := syncDir(releases); err != nil {
			return Release{}, err
		}
		return Release{ID: id, Dir: dst, Created: t}, nil
	}
	return Release{}, fmt.Errorf("moving release into place: no free ID after %d tries", maxIDTries)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening %s to sync: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
