package release

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Share opens the app directory appDir, its releases/ and every installed
// release to the group gid (the group of the app's user) with mode 0750:
// the agent can read its releases, other users cannot (a release may hold
// configuration). The owner is left as it is. It needs root.
func Share(appDir string, gid int) error {
	releases := filepath.Join(appDir, "releases")
	dirs := []string{appDir, releases}
	rels, err := list(releases)
	if err != nil {
		return err
	}
	for _, r := range rels {
		dirs = append(dirs, r.Dir)
	}
	for _, d := range dirs {
		err := os.Chown(d, -1, gid)
		if errors.Is(err, fs.ErrNotExist) && d == releases {
			continue // nothing installed yet
		}
		if err != nil {
			return fmt.Errorf("giving %s to group %d: %w", d, gid, err)
		}
		if err := os.Chmod(d, 0o750); err != nil {
			return fmt.Errorf("setting mode of %s: %w", d, err)
		}
	}
	return nil
}
