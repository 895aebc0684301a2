package keeper

import (
	"fmt"
	"sync"

	"github.com/berth-dev/berth/internal/runtime"
)

// recoverState rebuilds the instances from state.json. A process recorded
// there belonged to a keeper that died and took the read ends of its pipes
// along: its output can no longer be captured, so it is stopped (verified
// by start time, so a stranger that reused a pid is left alone) and, when
// desired running, started again fresh.
func (k *keeper) recoverState(s stateFile) {
	var wg sync.WaitGroup
	for _, rec := range s.Instances {
		spec, err := fromWire(rec.Spec)
		if err != nil {
			k.log.Error("dropping unreadable instance from state", "id", rec.Spec.ID, "err", err)
			continue
		}
		in := &instance{
			k: k, spec: spec, desired: rec.Desired, state: rec.State, restarts: rec.Restarts,
			lastExit: rec.LastExit, lastExitAt: rec.LastExitAt,
		}
		k.instances[spec.ID] = in
		wg.Go(func() { k.recoverInstance(in, rec) })
	}
	wg.Wait()
	k.save()
}

func (k *keeper) recoverInstance(in *instance, rec stateRecord) {
	id := rec.Spec.ID
	if t, ok := orphanTarget(rec); ok {
		pids := t.members()
		gone := t.terminate(in.spec.StopTimeout)
		msg := fmt.Sprintf("keeper restarted: stopped pid %d and its group %v (output pipes were lost)", rec.PID, pids)
		if !gone {
			msg += fmt.Sprintf("; still left after SIGKILL: %v", t.members())
		}
		k.log.Warn("recovery", "id", id, "msg", msg)
		k.events.add(id, EventRecovered, rec.PID, msg)
		cgroupRemove(t.cgroup)
	}
	if rec.Desired != desiredRunning {
		in.mu.Lock()
		if in.state != runtime.StateExited {
			in.state = runtime.StateStopped
		}
		in.mu.Unlock()
		return
	}
	if rec.State == runtime.StateExited {
		return // the restart policy had said stay down
	}
	k.log.Info("recovery: starting instance again", "id", id)
	k.launch(in)
}

// orphanTarget returns the processes a dead keeper left of rec, if any.
// The group is ours only while its leader, if alive, has the recorded start
// time: the kernel does not reuse a pid as long as a group of that id exists,
// so a live leader with another start time means our group is long gone.
func orphanTarget(rec stateRecord) (target, bool) {
	t := target{cgroup: rec.Cgroup}
	if rec.PGID > 0 && rec.StartTime > 0 {
		if st, err := readProcStat(rec.PGID); err != nil || st.startTime == rec.StartTime {
			t.pgid, t.minStart = rec.PGID, rec.StartTime
		}
	}
	return t, len(t.members()) > 0
}
