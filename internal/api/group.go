package api

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/sysuser"
)

// SocketGroup owns the control socket when the daemon runs as root.
const SocketGroup = sysuser.ControlGroup

// giveToGroup makes path, and the directory holding it, group SocketGroup:
// the socket 0660, the directory 0751 so members can reach the socket
// (and others, like the front's own user, traverse it to their own).
func giveToGroup(path string) error {
	gid, err := socketGroup()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.Chown(dir, -1, gid); err != nil {
		return fmt.Errorf("giving %s to group %s: %w", dir, SocketGroup, err)
	}
	if err := os.Chmod(dir, 0o751); err != nil {
		return fmt.Errorf("setting mode of %s: %w", dir, err)
	}
	if err := os.Chown(path, -1, gid); err != nil {
		return fmt.Errorf("giving %s to group %s: %w", path, SocketGroup, err)
	}
	return nil
}

// socketGroup returns SocketGroup's gid, creating the system group if the
// host has none yet.
func socketGroup() (int, error) {
	return sysuser.EnsureGroup(context.Background(), SocketGroup)
}
