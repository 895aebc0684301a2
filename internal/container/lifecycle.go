package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/container/engineapi"
	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/runtime"
)

// Start creates inst's container from its image (pulled or built when
// missing) and starts it. A stopped or exited container of the same
// instance is replaced.
func (r *Runtime) Start(ctx context.Context, inst runtime.Instance) (runtime.Status, error) {
	if err := r.ready(ctx); err != nil {
		return runtime.Status{}, err
	}
	if st, err := r.Status(ctx, inst.ID); err == nil && st.State == runtime.StateRunning {
		return st, runtime.ErrRunning
	}
	img, err := r.image(ctx, inst, func(string) {})
	if err != nil {
		return runtime.Status{}, fmt.Errorf("starting %s: %w", inst.ID, err)
	}
	if !img.hasCommand && len(inst.Argv) == 0 {
		return runtime.Status{}, fmt.Errorf("starting %s: %w: %s has no ENTRYPOINT or CMD; add one to the image or set command under [run]", inst.ID, ErrNoCommand, img.ref)
	}
	if err := r.Remove(ctx, inst.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return runtime.Status{}, err
	}
	opts, err := r.createOptions(inst, img)
	if err != nil {
		return runtime.Status{}, err
	}
	cid, err := r.cli.Create(ctx, opts)
	if err != nil {
		return runtime.Status{}, fmt.Errorf("creating the container of %s from %s: %s answered: %w", inst.ID, img.ref, r.engine, err)
	}
	if err := r.cli.Start(ctx, cid); err != nil {
		_ = r.cli.Remove(context.WithoutCancel(ctx), cid, true)
		if isPortConflict(err) {
			return runtime.Status{}, fmt.Errorf("starting the container of %s: port 127.0.0.1:%d is taken by another program; free it or pin other ports under [deploy]: %s answered: %w", inst.ID, inst.Port, r.engine, err)
		}
		return runtime.Status{}, fmt.Errorf("starting the container of %s (publishing 127.0.0.1:%d): %s answered: %w", inst.ID, inst.Port, r.engine, err)
	}
	r.markStopped(inst.ID, false)
	if err := r.supervise(inst, cid, false, false); err != nil {
		return runtime.Status{}, err
	}
	return r.Status(ctx, inst.ID)
}

// supervise starts watching the container cid of inst and copying its
// output into its log.
func (r *Runtime) supervise(inst runtime.Instance, cid string, adopted, stopped bool) error {
	w, err := logs.Open(inst.LogPath, inst.Log)
	if err != nil {
		return fmt.Errorf("opening the log of %s: %w", inst.ID, err)
	}
	lctx, cancel := context.WithCancel(r.ctx)
	s := &supervised{inst: inst, cid: cid, state: runtime.StateRunning, adopted: adopted, stopping: stopped,
		wake: make(chan struct{}), done: make(chan struct{}), w: w, cancelLog: cancel, logDone: make(chan struct{})}
	r.mu.Lock()
	r.sup[inst.ID] = s
	r.mu.Unlock()
	r.wg.Add(2)
	go func() { defer r.wg.Done(); r.watch(s) }()
	go func() { defer r.wg.Done(); defer close(s.logDone); r.follow(lctx, s, w) }()
	return nil
}

// ready checks the engine answers and, the first time, re-adopts the
// containers of this home it runs.
func (r *Runtime) ready(ctx context.Context) error {
	if err := r.ping(ctx); err != nil {
		return err
	}
	return r.adoptOnce(ctx)
}

// known is ready for calls about one instance: an engine that does not
// answer runs none of them, so an instance it never ran is ErrNotFound
// (the Router then asks the other backends) rather than ErrUnreachable.
func (r *Runtime) known(ctx context.Context, id string) error {
	err := r.ready(ctx)
	if errors.Is(err, ErrUnreachable) && r.get(id) == nil {
		return runtime.ErrNotFound
	}
	return err
}

func (r *Runtime) adoptOnce(ctx context.Context) error {
	r.mu.Lock()
	done := r.adopted
	r.adopted = true
	r.mu.Unlock()
	if done {
		return nil
	}
	return r.adopt(ctx)
}

// adopt supervises every container of this home, as it is.
func (r *Runtime) adopt(ctx context.Context) error {
	items, err := r.list(ctx)
	if err != nil {
		return err
	}
	for _, c := range items {
		var inst runtime.Instance
		if err := json.Unmarshal([]byte(c.Labels[labelSpec]), &inst); err != nil {
			r.log.Warn("a container of berth without its spec; leaving it alone", "container", c.ID, "err", err)
			continue
		}
		// A container that exited while no berth watched it is restarted
		// by the watcher, unless berth had stopped it.
		stopped := c.State != "running" && r.wasStopped(inst.ID)
		if err := r.supervise(inst, c.ID, true, stopped); err != nil {
			return err
		}
		r.log.Info("re-adopted container", "instance", inst.ID, "state", c.State)
	}
	return nil
}

func (r *Runtime) list(ctx context.Context) ([]engineapi.ContainerSummary, error) {
	items, err := r.cli.List(ctx, true, labelHome+"="+r.home)
	if err != nil {
		return nil, fmt.Errorf("listing containers on %s: %w", r.engine, err)
	}
	return items, nil
}

func (r *Runtime) get(id string) *supervised {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sup[id]
}

// Stop stops the container (SIGTERM, then SIGKILL after StopTimeout) and
// keeps it, stopped, for its logs; berth will not restart it.
func (r *Runtime) Stop(ctx context.Context, id string) (runtime.Status, error) {
	if err := r.known(ctx, id); err != nil {
		return runtime.Status{}, err
	}
	s := r.get(id)
	if s == nil {
		return runtime.Status{}, runtime.ErrNotFound
	}
	s.mu.Lock()
	if !s.stopping {
		s.stopping = true
		close(s.wake)
	}
	s.mu.Unlock()
	r.markStopped(id, true)
	timeout := int(s.inst.StopTimeout.Seconds() + 0.999)
	if err := r.cli.Stop(ctx, s.cid, &timeout); err != nil && !engineapi.IsNotFound(err) {
		return runtime.Status{}, fmt.Errorf("stopping %s: %s answered: %w", id, r.engine, err)
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return runtime.Status{}, fmt.Errorf("stopping %s: %w", id, ctx.Err())
	}
	s.mu.Lock()
	s.state = runtime.StateStopped
	s.mu.Unlock()
	return r.Status(ctx, id)
}

// Remove removes a stopped instance's container and forgets it.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	if err := r.known(ctx, id); err != nil {
		return err
	}
	s := r.get(id)
	cid := r.name(id)
	if s != nil {
		s.mu.Lock()
		running := !s.stopping && s.state == runtime.StateRunning
		s.mu.Unlock()
		if running {
			return fmt.Errorf("removing %s: %w", id, runtime.ErrRunning)
		}
		cid = s.cid
	}
	err := r.cli.Remove(ctx, cid, true)
	if s != nil {
		s.mu.Lock()
		if !s.stopping {
			s.stopping = true
			close(s.wake)
		}
		s.mu.Unlock()
		s.cancelLog()
		<-s.logDone
		s.closeLog()
		r.mu.Lock()
		delete(r.sup, id)
		r.mu.Unlock()
	}
	switch {
	case engineapi.IsNotFound(err):
		if s == nil {
			return runtime.ErrNotFound
		}
		return nil
	case err != nil:
		return fmt.Errorf("removing %s: %s answered: %w", id, r.engine, err)
	}
	return nil
}

// Status reports one instance from the engine and berth's supervision.
func (r *Runtime) Status(ctx context.Context, id string) (runtime.Status, error) {
	if err := r.known(ctx, id); err != nil {
		return runtime.Status{}, err
	}
	s := r.get(id)
	if s == nil {
		return runtime.Status{}, runtime.ErrNotFound
	}
	c, err := r.cli.Inspect(ctx, s.cid)
	if engineapi.IsNotFound(err) {
		return runtime.Status{}, runtime.ErrNotFound
	}
	if err != nil {
		return runtime.Status{}, fmt.Errorf("inspecting %s: %s answered: %w", id, r.engine, err)
	}
	return s.status(c), nil
}

// status merges the engine's view of the container with berth's.
func (s *supervised) status(c engineapi.ContainerInfo) runtime.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := runtime.Status{ID: s.inst.ID, App: s.inst.App, State: s.state, Restarts: s.restarts,
		LastExit: s.lastExit, LastExitAt: s.lastExitAt, NextStartAt: s.nextStart,
		LogPath: s.inst.LogPath, Adopted: s.adopted}
	if c.State != nil && c.State.Running {
		st.State, st.PID = runtime.StateRunning, c.State.Pid
		st.StartedAt, _ = time.Parse(time.RFC3339Nano, c.State.StartedAt)
	} else if st.State == runtime.StateRunning {
		st.State = runtime.StateBackoff // exited; the watcher is deciding
		if s.stopping {
			st.State = runtime.StateStopped
		}
	}
	if s.w != nil {
		ws := s.w.Stats()
		st.LogLines, st.LogBytes, st.LogDropped = ws.Lines, ws.Bytes, ws.Dropped
	}
	return st
}

// List reports every instance of this home the engine runs.
func (r *Runtime) List(ctx context.Context) ([]runtime.Status, error) {
	if err := r.ready(ctx); err != nil {
		r.mu.Lock()
		none := len(r.sup) == 0
		r.mu.Unlock()
		if errors.Is(err, ErrUnreachable) && none {
			return nil, nil // an engine that is down runs nothing of ours
		}
		return nil, err
	}
	r.mu.Lock()
	ids := make([]string, 0, len(r.sup))
	for id := range r.sup {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	var out []runtime.Status
	for _, id := range ids {
		st, err := r.Status(ctx, id)
		if errors.Is(err, runtime.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// isPortConflict reports whether the engine refused a start because the
// host port is taken.
func isPortConflict(err error) bool {
	s := err.Error()
	return strings.Contains(s, "address already in use") || strings.Contains(s, "port is already allocated")
}

// markStopped records (or clears) that berth stopped id, so that a berth
// restarted later does not start it again.
func (r *Runtime) markStopped(id string, stopped bool) {
	p := filepath.Join(r.state, "stopped", r.name(id))
	if !stopped {
		_ = os.Remove(p)
		return
	}
	if err := writeAtomic(p, nil); err != nil {
		r.log.Warn("recording a stop", "instance", id, "err", err)
	}
}

func (r *Runtime) wasStopped(id string) bool {
	_, err := os.Stat(filepath.Join(r.state, "stopped", r.name(id)))
	return err == nil
}
