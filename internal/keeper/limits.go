package keeper

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/runtime"
)

// DefaultTasksMax is the most processes and threads an instance may have
// when its spec sets no tasks_max: far above what a service needs, far
// below what takes a host down (a fork bomb stops there).
const DefaultTasksMax = 4096

// limiter applies an instance's tasks_max and memory_max through cgroups:
// in its cgroup v2 when the controller is enabled below the keeper, else in
// a cgroup v1 of that controller (hybrid hosts mount pids and memory as v1
// and leave the v2 tree without them). The zero value applies nothing.
// Safe for concurrent use (read-only after detection).
type limiter struct {
	v2     map[string]bool   // controllers enabled for the instances' v2 cgroups
	v1     map[string]string // controller -> the keeper's v1 directory for instances
	v2base string
}

// limitControllers are the controllers berth sets limits with.
var limitControllers = []string{"pids", "memory"}

// detectLimits finds, for each controller, where limits can be set: the v2
// tree under cg.base when the controller can be enabled there, else its v1
// hierarchy below the keeper's own v1 cgroup.
func detectLimits(cg cgroups) limiter {
	l := limiter{v2: map[string]bool{}, v1: map[string]string{}, v2base: cg.base}
	if cg.base != "" {
		avail, _ := os.ReadFile(filepath.Join(cg.base, "cgroup.controllers"))
		for _, c := range limitControllers {
			if !slices.Contains(strings.Fields(string(avail)), c) {
				continue
			}
			if os.WriteFile(filepath.Join(cg.base, "cgroup.subtree_control"), []byte("+"+c), 0) == nil {
				l.v2[c] = true
			}
		}
	}
	own := ownV1Cgroups()
	for _, c := range limitControllers {
		if l.v2[c] {
			continue
		}
		mnt := filepath.Join("/sys/fs/cgroup", c)
		var sfs unix.Statfs_t
		if err := unix.Statfs(mnt, &sfs); err != nil || sfs.Type != unix.CGROUP_SUPER_MAGIC {
			continue
		}
		p, ok := own[c]
		if !ok {
			continue
		}
		base := filepath.Join(mnt, p, "berth")
		if v1Writable(base) {
			l.v1[c] = base
		}
	}
	return l
}

// v1Writable reports whether cgroups can be made under base, creating it:
// an existing base on a read-only mount (a container's /sys/fs/cgroup)
// passes MkdirAll but takes no child, so a child is made and removed.
func v1Writable(base string) bool {
	if os.MkdirAll(base, 0o755) != nil {
		return false
	}
	probe := filepath.Join(base, "probe-"+strconv.Itoa(os.Getpid()))
	if os.Mkdir(probe, 0o755) != nil {
		return false
	}
	return os.Remove(probe) == nil
}

// ownV1Cgroups maps each v1 controller to the keeper's cgroup in it.
func ownV1Cgroups() map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return out
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 || parts[1] == "" {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out
}

// String says where limits go, for the keeper's log.
func (l limiter) String() string {
	var s []string
	for _, c := range limitControllers {
		switch {
		case l.v2[c]:
			s = append(s, c+": cgroup v2")
		case l.v1[c] != "":
			s = append(s, c+": cgroup v1 "+l.v1[c])
		default:
			s = append(s, c+": none")
		}
	}
	return strings.Join(s, ", ")
}

// tasksMax is the pids limit of spec.
func tasksMax(spec runtime.Instance) int64 {
	if spec.TasksMax > 0 {
		return int64(spec.TasksMax)
	}
	return DefaultTasksMax
}

// apply writes spec's limits before its process starts: into the v2
// cgroup dir (already created) and into fresh v1 cgroups, whose
// directories it returns for the spawn to join. A limit that cannot be
// written fails the start: running without the limit the spec asks for
// would break its promise silently.
func (l limiter) apply(spec runtime.Instance, v2dir string) ([]string, error) {
	want := map[string][2]string{ // controller -> v2 file and value, v1 file uses the same value
		"pids": {"pids.max", strconv.FormatInt(tasksMax(spec), 10)},
	}
	if spec.MemoryMax > 0 {
		want["memory"] = [2]string{"memory.max", strconv.FormatInt(spec.MemoryMax, 10)}
	}
	var v1dirs []string
	for _, c := range limitControllers {
		w, ok := want[c]
		switch {
		case !ok:
		case l.v2[c] && v2dir != "":
			if err := os.WriteFile(filepath.Join(v2dir, w[0]), []byte(w[1]), 0); err != nil {
				return nil, fmt.Errorf("setting %s of %s: %w", w[0], spec.ID, err)
			}
		case l.v1[c] != "":
			dir := filepath.Join(l.v1[c], spec.ID)
			if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return nil, fmt.Errorf("creating cgroup %s: %w", dir, err)
			}
			file := w[0]
			if c == "memory" {
				file = "memory.limit_in_bytes"
			}
			if err := os.WriteFile(filepath.Join(dir, file), []byte(w[1]), 0); err != nil {
				return nil, fmt.Errorf("setting %s of %s: %w", file, spec.ID, err)
			}
			v1dirs = append(v1dirs, dir)
		}
	}
	return v1dirs, nil
}

// remove removes the v1 cgroups of id once they are empty.
func (l limiter) remove(id string) {
	for _, base := range l.v1 {
		os.Remove(filepath.Join(base, id))
	}
}

// oomKills reads how many processes of id the kernel killed for memory.
func (l limiter) oomKills(id, v2dir string) uint64 {
	var file string
	switch {
	case l.v2["memory"] && v2dir != "":
		file = filepath.Join(v2dir, "memory.events")
	case l.v1["memory"] != "":
		file = filepath.Join(l.v1["memory"], id, "memory.oom_control")
	default:
		return 0
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// inV1Cgroups runs start on an OS thread that first joins the v1 cgroups
// dirs, so the process it forks starts inside them: v1 has no
// CLONE_INTO_CGROUP, and moving the process after the fork would let it
// fork before it is limited. The thread is never unlocked, so it ends with
// the goroutine and its cgroups never apply to the keeper's other work.
func inV1Cgroups(dirs []string, start func() (int, error)) (int, error) {
	if len(dirs) == 0 {
		return start()
	}
	type result struct {
		pid int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		goruntime.LockOSThread()
		tid := strconv.Itoa(unix.Gettid())
		for _, d := range dirs {
			if err := os.WriteFile(filepath.Join(d, "tasks"), []byte(tid), 0); err != nil {
				ch <- result{err: fmt.Errorf("joining cgroup %s: %w", d, err)}
				return
			}
		}
		pid, err := start()
		ch <- result{pid, err}
	}()
	r := <-ch
	return r.pid, r.err
}
