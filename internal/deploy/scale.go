package deploy

import (
	"context"
	"fmt"

	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
)

// Scale changes how many instances of the live release run, without a
// new release. New instances join the live set only after each passed
// its readiness checks; removed ones leave the set first and are drained
// before they stop, so no request fails either way. A new instance that
// does not become healthy is stopped and the app keeps its count (the
// error wraps ErrFailed). The next deploy runs the spec's instances again.
func (e *Engine) Scale(ctx context.Context, name string, n int, user string) error {
	ctx = context.WithoutCancel(ctx) // a client going away must not leave it half-done
	if n < 1 || n > spec.MaxInstances {
		return fmt.Errorf("scaling %s to %d: run 1 to %d instances", name, n, spec.MaxInstances)
	}
	unlock, err := e.lock(name, "scale by "+user)
	if err != nil {
		return err
	}
	defer unlock()
	st, a, err := e.app(name)
	if err != nil {
		return err
	}
	if st.Live == "" || st.Stopped {
		return fmt.Errorf("%w: %s has no running live release to scale", ErrNotRunning, name)
	}
	cur := st.Colors[st.Live].Count()
	if n > cur {
		err = e.scaleUp(ctx, st, a, n)
	} else if n < cur {
		err = e.scaleDown(ctx, st, a, n)
	}
	if err != nil {
		e.event(name, "scale.failed", fmt.Sprintf("%d -> %d by %s: %v", cur, n, user, err))
		return fmt.Errorf("%w: %v", ErrFailed, err)
	}
	e.event(name, "scale", fmt.Sprintf("%d -> %d instances by %s", cur, n, user))
	return nil
}

// scaleUp starts and gates instances cur..n-1, then records them and
// makes them live with the others.
func (e *Engine) scaleUp(ctx context.Context, st state.App, a *spec.App, n int) error {
	color := st.Live
	cur := st.Colors[color].Count()
	added := instance.Of(st.Name, color, n)[cur:]
	for _, id := range added {
		port, err := portFor(a, st, id)
		if err == nil {
			err = checkPortFree(port)
		}
		if err != nil {
			_ = e.stopAll(ctx, added)
			return err
		}
		if st.Ports == nil {
			st.Ports = map[string]int{}
		}
		st.Ports[id.Slot()] = port
		if err := e.startOne(ctx, st, a, id); err != nil {
			_ = e.stopAll(ctx, added)
			return fmt.Errorf("starting %s: %w", id, err)
		}
	}
	return e.recordCount(ctx, st, n)
}

// scaleDown takes instances n.. out of the live set, drains and stops them.
func (e *Engine) scaleDown(ctx context.Context, st state.App, a *spec.App, n int) error {
	removed := idsOf(st.Name, st, st.Live)[n:]
	if err := e.recordCount(ctx, st, n); err != nil {
		return err
	}
	if px, ok := e.Proxy(st.Name); ok {
		dctx, cancel := context.WithTimeout(ctx, a.Deploy.DrainTimeout.Duration)
		for _, id := range removed {
			px.Drain(dctx, id.Slot())
		}
		cancel()
	}
	return e.stopAll(ctx, removed)
}

// recordCount stores n instances for the live color (with st's ports) and
// makes them the live set.
func (e *Engine) recordCount(ctx context.Context, st state.App, n int) error {
	err := e.store.UpdateApp(st.Name, func(rec *state.App) error {
		if rec.Ports == nil {
			rec.Ports = map[string]int{}
		}
		for k, v := range st.Ports {
			rec.Ports[k] = v
		}
		c := rec.Colors[rec.Live]
		c.Instances = n
		rec.Colors[rec.Live] = c
		return nil
	})
	if err != nil {
		return err
	}
	c := st.Colors[st.Live]
	c.Instances = n
	st.Colors[st.Live] = c
	if px, ok := e.Proxy(st.Name); ok {
		ms, _ := e.serving(st, st.Live)
		px.SwitchSet(st.Live, ms)
	}
	return nil
}
