package api

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
)

// SocketGroup owns the control socket when the daemon runs as root.
const SocketGroup = "berth"

// giveToGroup makes path, and the directory holding it, group SocketGroup:
// the socket 0660, the directory 0750 so members can reach the socket.
func giveToGroup(path string) error {
	gid, err := socketGroup()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.Chown(dir, -1, gid); err != nil {
		return fmt.Errorf("giving %s to group %s: %w", dir, SocketGroup, err)
	}
	if err := os.Chmod(dir, 0o750); err != nil {
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
	g, err := user.LookupGroup(SocketGroup)
	var unknown user.UnknownGroupError
	if errors.As(err, &unknown) {
		if out, err := exec.Command("groupadd", "--system", SocketGroup).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("creating group %s: %v: %s", SocketGroup, err, out)
		}
		g, err = user.LookupGroup(SocketGroup)
	}
	if err != nil {
		return 0, fmt.Errorf("looking up group %s: %w", SocketGroup, err)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return 0, fmt.Errorf("group %s has gid %q: %w", SocketGroup, g.Gid, err)
	}
	return gid, nil
}
