package sysuser

import (
	"context"
	"fmt"
	"os/exec"
	"os/user"
	"strconv"
)

// ControlGroup is the group whose members may use the daemon's control
// socket.
const ControlGroup = "berth"

// EnsureGroup returns the gid of the system group name, creating the group
// when it does not exist. It needs root to create one.
func EnsureGroup(ctx context.Context, name string) (int, error) {
	if gid, err := LookupGroup(name); err == nil {
		return gid, nil
	}
	out, err := exec.CommandContext(ctx, "groupadd", "--system", name).CombinedOutput()
	if err != nil {
		// Another process may have created it meanwhile.
		if gid, lerr := LookupGroup(name); lerr == nil {
			return gid, nil
		}
		return 0, fmt.Errorf("creating group %s: %v: %s", name, err, out)
	}
	return LookupGroup(name)
}

// LookupGroup returns the gid of the group name.
func LookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("looking up group %q: %w", name, err)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return 0, fmt.Errorf("parsing gid of group %q: %w", name, err)
	}
	return gid, nil
}
