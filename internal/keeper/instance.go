package keeper

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/runtime"
)

// stderrKeep is how many stderr lines an instance keeps for its status.
const stderrKeep = 20

// instance is one supervised agent instance. Its fields are guarded by mu;
// one supervisor goroutine (supervise) drives it while it is active.
type instance struct {
	k *keeper

	mu          sync.Mutex
	spec        runtime.Instance
	desired     string
	state       runtime.State
	pid         int
	startTime   uint64
	cgroup      string
	oomBase     uint64   // the cgroup's oom_kill count when the run started
	lin         *lineage // the run's descendants, when it has no cgroup
	pipeInodes  []uint64 // the run's stdout and stderr pipes, as the daemon holds them
	adopted     bool     // the run was started by a keeper that died
	outputLost  bool     // adopted without its pipes: output is not captured
	startedAt   time.Time
	restarts    int
	lastExit    string
	lastExitAt  time.Time
	nextStartAt time.Time
	stderr      []string      // last stderrKeep lines, oldest first
	exitCh      chan exitInfo // exit of the current process, from the reaper
	stopReq     chan struct{} // closed to ask the supervisor to stop
	done        chan struct{} // closed when the supervisor returns; nil when none ran

	logLines   atomic.Uint64
	logBytes   atomic.Uint64
	logDropped atomic.Uint64 // of writers already closed, and of failed copies
	writer     atomic.Pointer[logs.Writer]
}

// activeLocked reports whether a supervisor owns the instance (running, in
// backoff, or stopping). Callers hold mu.
func (in *instance) activeLocked() bool {
	if in.done == nil {
		return false
	}
	select {
	case <-in.done:
		return false
	default:
		return true
	}
}

// targetLocked returns the processes of the current run. Callers hold mu.
func (in *instance) targetLocked() target {
	return target{pgid: in.pid, minStart: in.startTime, cgroup: in.cgroup, lin: in.lin}
}

func (in *instance) tapStderr(line []byte) {
	in.logLines.Add(1)
	in.logBytes.Add(uint64(len(line)) + 1)
	in.mu.Lock()
	if len(in.stderr) == stderrKeep {
		copy(in.stderr, in.stderr[1:])
		in.stderr = in.stderr[:stderrKeep-1]
	}
	in.stderr = append(in.stderr, string(line))
	in.mu.Unlock()
}

func (in *instance) tapStdout(line []byte) {
	in.logLines.Add(1)
	in.logBytes.Add(uint64(len(line)) + 1)
}

// dropped counts the lines lost so far: by closed writers and failed
// copies, plus what the current writer dropped under on_full = "drop".
func (in *instance) dropped() uint64 {
	n := in.logDropped.Load()
	if w := in.writer.Load(); w != nil {
		n += w.Dropped()
	}
	return n
}

// status returns a snapshot.
func (in *instance) status() runtime.Status {
	in.mu.Lock()
	defer in.mu.Unlock()
	s := runtime.Status{
		ID:         in.spec.ID,
		App:        in.spec.App,
		State:      in.state,
		Restarts:   in.restarts,
		LastExit:   in.lastExit,
		LastExitAt: in.lastExitAt,
		LogPath:    in.spec.LogPath,
		LogLines:   in.logLines.Load(),
		LogBytes:   in.logBytes.Load(),
		LogDropped: in.dropped(),
		Adopted:    in.adopted && in.state == runtime.StateRunning,
		OutputLost: in.outputLost && in.state == runtime.StateRunning,
	}
	if in.state == runtime.StateRunning {
		s.PID = in.pid
		s.StartedAt = in.startedAt
	}
	if in.state == runtime.StateBackoff || in.state == runtime.StateCrashloop {
		s.NextStartAt = in.nextStartAt
	}
	if len(in.stderr) > 0 {
		s.LastStderr = append([]string(nil), in.stderr...)
	}
	return s
}

// record returns the instance as saved in state.json.
func (in *instance) record() stateRecord {
	in.mu.Lock()
	defer in.mu.Unlock()
	r := stateRecord{
		Spec:       toWire(in.spec),
		Desired:    in.desired,
		State:      in.state,
		Restarts:   in.restarts,
		LastExit:   in.lastExit,
		LastExitAt: in.lastExitAt,
	}
	if in.pid != 0 {
		r.PID, r.PGID, r.StartTime, r.Cgroup, r.StartedAt = in.pid, in.pid, in.startTime, in.cgroup, in.startedAt
		r.Pipes = in.pipeInodes
	}
	return r
}
