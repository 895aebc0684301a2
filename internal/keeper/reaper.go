package keeper

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// exitInfo is how a process ended.
type exitInfo struct {
	status syscall.WaitStatus
	at     time.Time
	err    error // set when the process never started
	// unknown: an adopted process, watched by pidfd; only its parent
	// could have read its status.
	unknown bool
	oom     bool // the kernel killed a process of the run for memory
}

// failed reports whether the exit counts as a failure for on-failure.
func (e exitInfo) failed() bool {
	// An unknown status counts as a failure: on-failure restarts it.
	return e.unknown || e.err != nil || !e.status.Exited() || e.status.ExitStatus() != 0
}

func (e exitInfo) String() string {
	switch {
	case e.err != nil:
		return "spawn failed: " + e.err.Error()
	case e.unknown:
		return "unknown (adopted)"
	case e.status.Signaled() && e.oom:
		return "signal: " + e.status.Signal().String() + " (out of memory: memory_max reached)"
	case e.status.Signaled():
		return "signal: " + e.status.Signal().String()
	default:
		return "exit " + strconv.Itoa(e.status.ExitStatus())
	}
}

// reaper reaps every child of the keeper, its agents and, because the keeper
// is a child subreaper, their orphaned descendants. It waits on any pid, so
// the keeper never calls os.Process.Wait; statuses of agents go to the
// channel registered for their pid, the rest are discarded. Safe for
// concurrent use.
type reaper struct {
	mu      sync.Mutex
	waiters map[int]chan<- exitInfo
}

func newReaper() *reaper {
	return &reaper{waiters: make(map[int]chan<- exitInfo)}
}

// start runs start while no exit can be dispatched, then registers the
// new pid, so an exit that comes before registration is never lost.
func (r *reaper) start(start func() (int, error), ch chan<- exitInfo) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := start()
	if err != nil {
		return 0, err
	}
	r.waiters[pid] = ch
	return pid, nil
}

// run reaps on every SIGCHLD until ctx is done. A slow tick covers a lost
// signal (signals coalesce; the loop drains all the same).
func (r *reaper) run(ctx context.Context) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGCHLD)
	defer signal.Stop(sig)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		r.reapAll()
		select {
		case <-ctx.Done():
			return
		case <-sig:
		case <-tick.C:
		}
	}
}

func (r *reaper) reapAll() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		r.mu.Lock()
		ch, ok := r.waiters[pid]
		delete(r.waiters, pid)
		r.mu.Unlock()
		if ok {
			ch <- exitInfo{status: syscall.WaitStatus(ws), at: time.Now()}
		}
	}
}
