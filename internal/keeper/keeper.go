package keeper

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/process"
	"github.com/berth-dev/berth/internal/runtime"
)

// keeper is the state of one keeper process. Safe for concurrent use.
type keeper struct {
	ctx       context.Context // the keeper's life; ending it leaves agents running
	runDir    string
	log       *slog.Logger
	reaper    *reaper
	cg        cgroups
	lim       limiter // tasks_max, memory_max
	events    *eventLog
	pipes     *pipeShare // read ends handed to the daemon
	startedAt time.Time
	recovery  recoverySummary // what this keeper did with the runs it found

	mu        sync.Mutex
	instances map[string]*instance

	saveMu sync.Mutex // orders state.json writes
}

func (k *keeper) lookup(id string) (*instance, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	in, ok := k.instances[id]
	if !ok {
		return nil, fmt.Errorf("instance %s: %w", id, runtime.ErrNotFound)
	}
	return in, nil
}

// start starts spec; ErrRunning when its instance is active.
func (k *keeper) start(spec runtime.Instance) (runtime.Status, error) {
	if err := validate(spec); err != nil {
		return runtime.Status{}, err
	}
	k.mu.Lock()
	in, ok := k.instances[spec.ID]
	if !ok {
		in = &instance{k: k}
		k.instances[spec.ID] = in
	}
	in.mu.Lock()
	if in.activeLocked() {
		in.mu.Unlock()
		k.mu.Unlock()
		return runtime.Status{}, fmt.Errorf("starting %s: %w", spec.ID, runtime.ErrRunning)
	}
	in.spec, in.desired, in.restarts = spec, desiredRunning, 0
	in.lastExit, in.lastExitAt, in.stderr = "", time.Time{}, nil
	stopReq, done := make(chan struct{}), make(chan struct{})
	in.stopReq, in.done = stopReq, done // claims the instance before unlocking
	in.mu.Unlock()
	k.mu.Unlock()

	if err := in.spawn(); err != nil {
		in.mu.Lock()
		in.state, in.lastExit, in.lastExitAt = runtime.StateExited, "spawn failed: "+err.Error(), time.Now()
		in.mu.Unlock()
		close(done)
		k.save()
		return in.status(), fmt.Errorf("starting %s: %w", spec.ID, err)
	}
	go in.supervise(stopReq, done, nil)
	return in.status(), nil
}

// launch starts a recovered instance; a failed spawn goes through the
// restart policy like any exit.
func (k *keeper) launch(in *instance) {
	stopReq, done := make(chan struct{}), make(chan struct{})
	in.mu.Lock()
	in.stopReq, in.done = stopReq, done
	in.mu.Unlock()
	var first *exitInfo
	if err := in.spawn(); err != nil {
		first = &exitInfo{err: err, at: time.Now()}
	}
	go in.supervise(stopReq, done, first)
}

// stop stops id and waits until no process of it is left.
func (k *keeper) stop(ctx context.Context, id string) (runtime.Status, error) {
	in, err := k.lookup(id)
	if err != nil {
		return runtime.Status{}, err
	}
	in.mu.Lock()
	in.desired = desiredStopped
	active, done := in.activeLocked(), in.done
	if active && in.stopReq != nil {
		close(in.stopReq)
		in.stopReq = nil
	}
	if !active && in.state != runtime.StateStopped {
		in.state = runtime.StateStopped
	}
	in.mu.Unlock()
	if !active {
		k.save()
		return in.status(), nil
	}
	select {
	case <-done:
		return in.status(), nil
	case <-ctx.Done():
		return runtime.Status{}, fmt.Errorf("stopping %s: %w", id, ctx.Err())
	}
}

// restart stops id and starts it again with the same spec.
func (k *keeper) restart(ctx context.Context, id string) (runtime.Status, error) {
	if _, err := k.stop(ctx, id); err != nil {
		return runtime.Status{}, err
	}
	in, err := k.lookup(id)
	if err != nil {
		return runtime.Status{}, err
	}
	in.mu.Lock()
	spec := in.spec
	in.mu.Unlock()
	return k.start(spec)
}

// remove forgets an instance that is not active.
func (k *keeper) remove(id string) error {
	k.mu.Lock()
	in, ok := k.instances[id]
	if !ok {
		k.mu.Unlock()
		return fmt.Errorf("removing %s: %w", id, runtime.ErrNotFound)
	}
	in.mu.Lock()
	active := in.activeLocked()
	in.mu.Unlock()
	if active {
		k.mu.Unlock()
		return fmt.Errorf("removing %s: %w", id, runtime.ErrRunning)
	}
	delete(k.instances, id)
	k.mu.Unlock()
	cgroupRemove(k.cg.path(id))
	k.lim.remove(id)
	k.events.add(id, EventRemoved, 0, "removed")
	k.save()
	return nil
}

func (k *keeper) list() []runtime.Status {
	k.mu.Lock()
	ins := make([]*instance, 0, len(k.instances))
	for _, in := range k.instances {
		ins = append(ins, in)
	}
	k.mu.Unlock()
	out := make([]runtime.Status, 0, len(ins))
	for _, in := range ins {
		out = append(out, in.status())
	}
	slices.SortFunc(out, func(a, b runtime.Status) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// save writes state.json. A failed write is logged, not returned: the
// running agents matter more than the file, and the next change retries.
func (k *keeper) save() {
	k.saveMu.Lock()
	defer k.saveMu.Unlock()
	k.mu.Lock()
	ins := make([]*instance, 0, len(k.instances))
	for _, in := range k.instances {
		ins = append(ins, in)
	}
	k.mu.Unlock()
	s := stateFile{Version: stateVersion, KeeperPID: os.Getpid(), Seq: k.events.last()}
	for _, in := range ins {
		s.Instances = append(s.Instances, in.record())
	}
	slices.SortFunc(s.Instances, func(a, b stateRecord) int { return strings.Compare(a.Spec.ID, b.Spec.ID) })
	b, err := json.MarshalIndent(s, "", "  ")
	if err == nil {
		err = process.WriteFileAtomic(filepath.Join(k.runDir, "state.json"), b, 0o600)
	}
	if err != nil {
		k.log.Error("saving state", "err", err)
	}
}
