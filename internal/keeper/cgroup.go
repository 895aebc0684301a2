package keeper

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// cgroups places instances in their own cgroup v2 under base, when the host
// delegates a writable cgroup2 hierarchy. The zero value (base "") means
// cgroups are not used and process groups are the only containment.
type cgroups struct {
	base string // e.g. /sys/fs/cgroup/unified/berth
}

// detectCgroups finds a writable cgroup2 mount and returns the berth
// directory below the keeper's own cgroup, or the reason it cannot.
func detectCgroups() (cgroups, error) {
	own, err := ownCgroup()
	if err != nil {
		return cgroups{}, err
	}
	var lastErr error = errors.New("no cgroup2 mount at /sys/fs/cgroup or /sys/fs/cgroup/unified")
	for _, mnt := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var sfs unix.Statfs_t
		if err := unix.Statfs(mnt, &sfs); err != nil || sfs.Type != unix.CGROUP2_SUPER_MAGIC {
			continue
		}
		base := filepath.Join(mnt, own, "berth")
		if err := os.MkdirAll(base, 0o755); err != nil {
			lastErr = fmt.Errorf("creating %s: %w", base, err)
			continue
		}
		probe := filepath.Join(base, ".probe")
		if err := os.Mkdir(probe, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			lastErr = fmt.Errorf("creating a cgroup under %s: %w", base, err)
			continue
		}
		os.Remove(probe)
		return cgroups{base: base}, nil
	}
	return cgroups{}, lastErr
}

// ownCgroup returns the keeper's cgroup v2 path from /proc/self/cgroup.
func ownCgroup() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Errorf("reading own cgroup: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			return p, nil
		}
	}
	return "", errors.New("reading own cgroup: no cgroup v2 entry")
}

// path returns the cgroup directory of instance id, or "" without cgroups.
func (c cgroups) path(id string) string {
	if c.base == "" {
		return ""
	}
	return filepath.Join(c.base, id)
}

// open creates (or reuses an empty) cgroup for id and opens it for
// CLONE_INTO_CGROUP. A populated cgroup is refused: its processes are not
// from this instance's current run and must not be mixed with it.
func (c cgroups) open(id string) (string, *os.File, error) {
	dir := c.path(id)
	if dir == "" {
		return "", nil, nil
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", nil, fmt.Errorf("creating cgroup %s: %w", dir, err)
	}
	if pids := cgroupProcs(dir); len(pids) > 0 {
		return "", nil, fmt.Errorf("cgroup %s still holds pids %v", dir, pids)
	}
	f, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return "", nil, fmt.Errorf("opening cgroup %s: %w", dir, err)
	}
	return dir, f, nil
}

// cgroupProcs lists the processes in cgroup dir ("" means none).
func cgroupProcs(dir string) []int {
	if dir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cgroupSignal sends sig to every process of cgroup dir, including those
// that left the process group with setsid.
func cgroupSignal(dir string, sig syscall.Signal) {
	for _, pid := range cgroupProcs(dir) {
		unix.Kill(pid, sig)
	}
}

// cgroupKill kills every process of cgroup dir at once; on kernels without
// cgroup.kill it falls back to signalling each listed pid.
func cgroupKill(dir string) {
	if dir == "" {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0); err != nil {
		cgroupSignal(dir, syscall.SIGKILL)
	}
}

// cgroupRemove removes an empty cgroup; errors are ignored because a busy
// or missing cgroup is cleaned up by a later stop or Remove.
func cgroupRemove(dir string) {
	if dir != "" {
		os.Remove(dir)
	}
}
