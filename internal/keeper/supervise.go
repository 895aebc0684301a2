package keeper

import (
	"fmt"
	"time"

	"github.com/berth-dev/berth/internal/runtime"
)

// exitWait bounds how long a stop waits for the reaper to report the main
// process once its whole group is gone.
const exitWait = 5 * time.Second

// supervise owns the instance from its first process until it is stopped,
// exits for good, or the keeper shuts down (which leaves processes running).
// first, when not nil, is a failed first spawn to handle as an exit.
func (in *instance) supervise(stopReq <-chan struct{}, done chan<- struct{}, first *exitInfo) {
	defer close(done)
	ctx := in.k.ctx
	var b backoff
	for {
		var ex exitInfo
		if first != nil {
			ex, first = *first, nil
		} else {
			in.mu.Lock()
			exitCh := in.exitCh
			in.mu.Unlock()
			select {
			case ex = <-exitCh:
				ex.oom = in.oomKilled()
				in.cleanupRun()
			case <-stopReq:
				in.stopRun(exitCh)
				return
			case <-ctx.Done():
				return
			}
		}
		// Restart until a process runs, the policy says stay down, or a stop.
		for {
			delay, restart := in.recordExit(ex, &b)
			if !restart {
				return
			}
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-stopReq:
				t.Stop()
				in.markStopped("stopped while waiting to restart")
				return
			case <-ctx.Done():
				t.Stop()
				return
			}
			in.mu.Lock()
			in.restarts++
			in.mu.Unlock()
			if err := in.spawn(); err != nil {
				in.k.log.Warn("restarting instance", "id", in.spec.ID, "err", err)
				ex = exitInfo{err: err, at: time.Now()}
				continue
			}
			break
		}
	}
}

// recordExit records how the last run ended and what happens next.
func (in *instance) recordExit(ex exitInfo, b *backoff) (time.Duration, bool) {
	in.mu.Lock()
	id, policy := in.spec.ID, in.spec.Restart
	ran := time.Duration(0)
	if ex.err == nil {
		ran = ex.at.Sub(in.startedAt)
	}
	delay, restart, crashloop := b.next(policy, ex, ran)
	in.lastExit, in.lastExitAt = ex.String(), ex.at
	pid := in.pid
	if ex.err == nil {
		in.pid, in.startTime, in.cgroup, in.lin = 0, 0, "", nil
	}
	switch {
	case !restart:
		in.state = runtime.StateExited
	case crashloop:
		in.state = runtime.StateCrashloop
	default:
		in.state = runtime.StateBackoff
	}
	if restart {
		in.nextStartAt = ex.at.Add(delay)
	}
	nRestarts := in.restarts
	in.mu.Unlock()

	ev := in.k.events
	if ex.err == nil {
		ev.add(id, EventExited, pid, fmt.Sprintf("%s after %s", ex, ran.Round(time.Millisecond)))
	} else {
		ev.add(id, EventExited, 0, ex.String())
	}
	switch {
	case crashloop:
		ev.add(id, EventCrashloop, 0, fmt.Sprintf("%d short runs in a row (%d restarts); next try in %s", b.shortRuns, nRestarts, delay))
	case restart:
		ev.add(id, EventBackoff, 0, fmt.Sprintf("restarting in %s", delay))
	}
	in.k.save()
	return delay, restart
}

// cleanupRun removes what is left of a run whose main process exited on its
// own: processes it left in its group or cgroup, then the cgroup itself.
func (in *instance) cleanupRun() {
	in.mu.Lock()
	t, grace := in.targetLocked(), in.spec.StopTimeout
	in.mu.Unlock()
	if !t.terminate(grace) {
		in.k.log.Error("processes left after SIGKILL", "id", in.spec.ID, "pgid", t.pgid, "pids", t.members())
	}
	cgroupRemove(t.cgroup)
	in.k.lim.remove(in.spec.ID)
}

// oomKilled reports whether the kernel killed a process of the current run
// for memory (memory_max reached) since it started.
func (in *instance) oomKilled() bool {
	in.mu.Lock()
	id, dir, base := in.spec.ID, in.cgroup, in.oomBase
	in.mu.Unlock()
	return in.k.lim.oomKills(id, dir) > base
}

// stopRun stops the running process tree and marks the instance stopped.
func (in *instance) stopRun(exitCh <-chan exitInfo) {
	in.mu.Lock()
	t, grace, id := in.targetLocked(), in.spec.StopTimeout, in.spec.ID
	in.mu.Unlock()
	if !t.terminate(grace) {
		in.k.log.Error("processes left after SIGKILL", "id", id, "pgid", t.pgid, "pids", t.members())
	}
	msg := "stopped"
	select {
	case ex := <-exitCh:
		msg = "stopped (" + ex.String() + ")"
		in.mu.Lock()
		in.lastExit, in.lastExitAt = ex.String(), ex.at
		in.mu.Unlock()
	case <-time.After(exitWait):
	}
	cgroupRemove(t.cgroup)
	in.k.lim.remove(id)
	in.markStopped(msg)
}

func (in *instance) markStopped(msg string) {
	in.mu.Lock()
	id := in.spec.ID
	in.state, in.pid, in.startTime, in.cgroup, in.lin = runtime.StateStopped, 0, 0, "", nil
	in.nextStartAt = time.Time{}
	in.mu.Unlock()
	in.k.events.add(id, EventStopped, 0, msg)
	in.k.save()
}
