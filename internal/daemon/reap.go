package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// inheritedChildren returns the pids of this process's children as it
// starts. A fresh daemon has none; after an upgrade's re-exec they are
// the old image's (the keeper and fronts it started), which no exec.Cmd
// of this image waits for.
func inheritedChildren() []int {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil
	}
	var pids []int
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", t.Name(), "children"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// reapInherited waits for pids (inheritedChildren) as they exit, checking
// every interval until none is left or ctx ends: a front retired by a
// later upgrade would otherwise stay a zombie in the daemon's unit for
// the daemon's life. Only these pids are waited for, never -1, so the
// children this image starts stay its exec.Cmds' to wait for.
func reapInherited(ctx context.Context, pids []int, every time.Duration) {
	for len(pids) > 0 {
		left := pids[:0]
		for _, pid := range pids {
			var ws syscall.WaitStatus
			got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
			if got == 0 && (err == nil || errors.Is(err, syscall.EINTR)) {
				left = append(left, pid) // still running
			}
		}
		pids = left
		if len(pids) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}
