package keeper

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/runtime"
)

// recoverySummary counts what a keeper did with the runs a dead keeper
// left; GET /v1/keeper reports it.
type recoverySummary struct {
	Adopted    int `json:"adopted"`     // re-adopted, output resumed
	OutputLost int `json:"output_lost"` // re-adopted without their pipes
	Restarted  int `json:"restarted"`   // stopped and started again
}

// recoverState rebuilds the instances from state.json. A process recorded
// there belonged to a keeper that died. When its main process is still the
// one recorded (same pid and start time) and the instance should run, it is
// re-adopted: watched by pidfd, its output read on from the pipes the
// daemon kept (docs/keeper-protocol.md). Otherwise what is left of the run
// is stopped (a stranger that reused a pid is left alone), the output left
// in its pipes is written to its log, and an instance desired running is
// started again fresh.
func (k *keeper) recoverState(s stateFile, inh *inherited) {
	var wg sync.WaitGroup
	var mu sync.Mutex
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
		wg.Go(func() {
			outcome := k.recoverInstance(in, rec, inh)
			mu.Lock()
			defer mu.Unlock()
			switch outcome {
			case recoveredAdopted:
				k.recovery.Adopted++
			case recoveredBlind:
				k.recovery.OutputLost++
			case recoveredRestarted:
				k.recovery.Restarted++
			}
		})
	}
	wg.Wait()
	inh.closeRest()
	k.save()
}

// What recovery did with one instance.
const (
	recoveredNothing = iota
	recoveredAdopted
	recoveredBlind // adopted, output pipes lost
	recoveredRestarted
)

func (k *keeper) recoverInstance(in *instance, rec stateRecord, inh *inherited) int {
	id := rec.Spec.ID
	pipes, havePipes := inh.take(rec.Pipes)
	if rec.Desired == desiredRunning && rec.State == runtime.StateRunning {
		if fd, ok := openLeader(rec); ok {
			if !havePipes {
				for _, p := range pipes {
					p.Close()
				}
				pipes = nil
			}
			msg := k.adopt(in, rec, fd, pipes)
			k.log.Warn("recovery", "id", id, "msg", msg)
			k.events.add(id, EventRecovered, rec.PID, msg)
			if pipes == nil {
				k.events.add(id, EventOutputLost, rec.PID, fmt.Sprintf("pid %d runs without its output pipes: its output is lost until it is replaced", rec.PID))
				return recoveredBlind
			}
			return recoveredAdopted
		}
	}
	drained := k.drainOld(in, pipes)
	outcome := recoveredNothing
	if t, ok := orphanTarget(rec); ok {
		pids := t.members()
		gone := t.terminate(in.spec.StopTimeout)
		msg := fmt.Sprintf("keeper restarted: stopped pid %d and its group %v (its main process was gone or not the one recorded)", rec.PID, pids)
		if !havePipes {
			msg = fmt.Sprintf("keeper restarted: stopped pid %d and its group %v (output pipes were lost)", rec.PID, pids)
		}
		if !gone {
			msg += fmt.Sprintf("; still left after SIGKILL: %v", t.members())
		}
		k.log.Warn("recovery", "id", id, "msg", msg)
		k.events.add(id, EventRecovered, rec.PID, msg)
		cgroupRemove(t.cgroup)
		outcome = recoveredRestarted
	}
	waitDrained(drained, drainWait)
	if rec.Desired != desiredRunning {
		in.mu.Lock()
		if in.state != runtime.StateExited {
			in.state = runtime.StateStopped
		}
		in.mu.Unlock()
		return outcome
	}
	if rec.State == runtime.StateExited {
		return outcome // the restart policy had said stay down
	}
	k.log.Info("recovery: starting instance again", "id", id)
	k.launch(in)
	return recoveredRestarted
}

// drainWait bounds how long recovery waits for the output a run that is
// not re-adopted left in its pipes.
const drainWait = 5 * time.Second

// drainOld writes what a run that is not re-adopted left in its inherited
// pipes to its log, so no line of it is lost. The returned channel closes
// when both pipes reached EOF (their writers are stopped first).
func (k *keeper) drainOld(in *instance, pipes []*os.File) <-chan struct{} {
	done := make(chan struct{})
	if len(pipes) == 0 {
		close(done)
		return done
	}
	in.mu.Lock()
	spec := in.spec
	in.mu.Unlock()
	w, err := logs.Open(spec.LogPath, spec.Log)
	if err != nil {
		k.log.Warn("recovery: cannot open log for the old run's output", "id", spec.ID, "err", err)
		w = nil
	}
	var wg sync.WaitGroup
	streams := []logs.Stream{logs.Stdout, logs.Stderr}
	for i, p := range pipes {
		wg.Go(func() {
			defer p.Close()
			if w == nil || logs.Copy(w, streams[min(i, 1)], p, nil) != nil {
				in.logDropped.Add(countLines(p))
			}
		})
	}
	go func() {
		wg.Wait()
		if w != nil {
			in.logDropped.Add(w.Dropped())
			w.Close()
		}
		close(done)
	}()
	return done
}

func waitDrained(ch <-chan struct{}, d time.Duration) {
	select {
	case <-ch:
	case <-time.After(d):
	}
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
