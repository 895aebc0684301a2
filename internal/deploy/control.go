package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/proxy"
	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
)

// app reads an app's record and its last deployed spec.
func (e *Engine) app(name string) (state.App, *spec.App, error) {
	st, err := e.store.GetApp(name)
	if errors.Is(err, state.ErrNotFound) {
		return st, nil, fmt.Errorf("%w: %s (deploy it first)", ErrUnknownApp, name)
	}
	if err != nil {
		return st, nil, err
	}
	if len(st.Spec) == 0 {
		return st, nil, fmt.Errorf("%s was never live: its first deploy failed (berth history %s); deploy it again, or remove it with berth rm %s", name, name, name)
	}
	a, err := ParseSpec(st.SpecFile, st.Spec)
	if err != nil {
		return st, nil, fmt.Errorf("reading the deployed spec of %s: %w", name, err)
	}
	return st, a, nil
}

// appRecord is app for what must also explain an app that was never live
// (its first deploy failed): its spec is then empty, not an error.
func (e *Engine) appRecord(name string) (state.App, *spec.App, error) {
	st, err := e.store.GetApp(name)
	if err == nil && len(st.Spec) == 0 {
		return st, &spec.App{Name: name}, nil
	}
	return e.app(name)
}

// Stop stops every instance of the app gracefully. Its proxy keeps
// listening and answers 503 until the app is started again.
func (e *Engine) Stop(ctx context.Context, name, user string) error {
	ctx = context.WithoutCancel(ctx) // a client going away must not leave it half-done
	st, _, err := e.appRecord(name)  // an app never live has nothing to stop: fine
	if err != nil {
		return err
	}
	unlock, err := e.lock(name, "stop by "+user)
	if err != nil {
		return err
	}
	defer unlock()
	if px, ok := e.Proxy(name); ok {
		px.Switch(proxy.Target{})
	}
	for color := range st.Colors {
		if err := e.stopAll(ctx, idsOf(name, st, color)); err != nil {
			return fmt.Errorf("stopping %s: %w", color, err)
		}
	}
	err = e.store.UpdateApp(name, func(a *state.App) error {
		a.Stopped = true
		for color, c := range a.Colors {
			if color != a.Live {
				delete(a.Colors, color)
			} else {
				c.Warm = false
				a.Colors[color] = c
			}
		}
		return nil
	})
	e.event(name, "operator.stop", "stopped by "+user)
	return err
}

// Start starts the app's live release again after Stop (or after its
// instance vanished), verifies it, and points the proxy at it.
func (e *Engine) Start(ctx context.Context, name, user string) error {
	ctx = context.WithoutCancel(ctx) // a client going away must not leave it half-done
	unlock, err := e.lock(name, "start by "+user)
	if err != nil {
		return err
	}
	defer unlock()
	if err := e.startLive(ctx, name); err != nil {
		return err
	}
	e.event(name, "operator.start", "started by "+user)
	return nil
}

func (e *Engine) startLive(ctx context.Context, name string) error {
	st, a, err := e.app(name)
	if err != nil {
		return err
	}
	if st.Live == "" {
		return fmt.Errorf("%s has no live release", name)
	}
	for _, id := range idsOf(name, st, st.Live) {
		if err := e.startOne(ctx, st, a, id); err != nil {
			return fmt.Errorf("starting %s: %w", name, err)
		}
	}
	if a.Service != nil {
		px, err := e.ensureProxy(name, a.Service)
		if err != nil {
			return err
		}
		switchColor(px, name, st, st.Live)
	}
	return e.store.UpdateApp(name, func(s *state.App) error {
		s.Stopped = false
		return nil
	})
}

// startOne starts one recorded instance of the live release unless it
// runs, and waits until it is healthy.
func (e *Engine) startOne(ctx context.Context, st state.App, a *spec.App, id instance.ID) error {
	port := st.Ports[id.Slot()]
	inst, err := e.previousInstance(ctx, st.Spec, st.SpecFile, id, st.Colors[id.Color].Release, port)
	if err != nil {
		return err
	}
	if s, err := e.rt.Status(ctx, inst.ID); err != nil || s.State != runtime.StateRunning {
		if _, err := e.rt.Start(ctx, inst); err != nil && !errors.Is(err, runtime.ErrRunning) {
			return fmt.Errorf("starting %s: %w", inst.ID, err)
		}
	}
	t := checkTarget(e.rt, inst, port)
	alive := func() error {
		s, err := e.rt.Status(ctx, inst.ID)
		if err == nil && s.State != runtime.StateRunning {
			err = fmt.Errorf("%s is %s (%s)", inst.ID, s.State, s.LastExit)
		}
		return err
	}
	return health.WaitHealthy(ctx, a.Checks, t, a.Deploy.HealthyAfter, alive, e.checkRecorder(a, id.Slot()))
}

// Restart restarts the app. With blue-green it is a deploy of the live
// release to the idle color: no downtime. With restart it stops and starts.
func (e *Engine) Restart(ctx context.Context, name, user string, out ProgressFunc) (state.Deployment, error) {
	st, _, err := e.app(name)
	if err != nil {
		return state.Deployment{}, err
	}
	return e.Deploy(ctx, Request{SpecFile: st.SpecFile, Spec: st.Spec, ReleaseID: st.Colors[st.Live].Release,
		User: user, Kind: KindRestart}, out)
}

// Pause holds or refuses new requests to the app ("hold" or "refuse");
// Resume ("") lets them through again.
func (e *Engine) Pause(name, mode, user string) error {
	if _, _, err := e.app(name); err != nil {
		return err
	}
	px, ok := e.Proxy(name)
	if !ok {
		return fmt.Errorf("%s has no [service] to pause", name)
	}
	switch mode {
	case "hold":
		px.Pause(proxy.PauseHold)
	case "refuse":
		px.Pause(proxy.PauseRefuse)
	case "":
		px.Resume()
	default:
		return fmt.Errorf("pause mode %q: use hold or refuse", mode)
	}
	e.event(name, "operator.pause", fmt.Sprintf("pause=%q by %s", mode, user))
	return e.store.UpdateApp(name, func(a *state.App) error {
		a.Paused = mode
		a.UpdatedAt = time.Now()
		return nil
	})
}
