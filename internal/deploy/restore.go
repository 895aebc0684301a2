package deploy

import (
	"context"
	"fmt"

	"github.com/berth-dev/berth/internal/proxy"
	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/state"
)

// Restore brings the daemon's view back after a start: deployments cut off
// by a crash are marked interrupted, proxies listen again and point at the
// recorded live color, the live instance is started when the keeper lost
// it, and candidates of an interrupted deploy are stopped. The live version
// is what the store says; nothing unverified becomes live.
func (e *Engine) Restore(ctx context.Context) error {
	cut, err := e.store.InterruptRunning("the daemon stopped during the deploy")
	if err != nil {
		return err
	}
	e.recordInterrupted(cut)
	apps, err := e.store.ListApps()
	if err != nil {
		return err
	}
	for _, st := range apps {
		if err := e.restoreApp(ctx, st); err != nil {
			e.log.Error("restoring app", "app", st.Name, "err", err)
			e.event(st.Name, "restore.failed", err.Error())
		}
	}
	return nil
}

func (e *Engine) restoreApp(ctx context.Context, st state.App) error {
	_, a, err := e.appRecord(st.Name)
	if err != nil {
		return err
	}
	var px Proxy
	if a.Service != nil {
		if px, err = e.ensureProxy(st.Name, a.Service); err != nil {
			return err
		}
		switch st.Paused {
		case "hold":
			px.Pause(proxy.PauseHold)
		case "refuse":
			px.Pause(proxy.PauseRefuse)
		}
	}
	// Traffic leaves a candidate before it stops: a daemon killed in a
	// verify window left the front on it.
	// Traffic goes back to the live color first (when all its instances
	// run), so that stopping the candidates below fails no request.
	liveUp := false
	if st.Live != "" && !st.Stopped {
		liveUp = true
		for _, id := range idsOf(st.Name, st, st.Live) {
			s, err := e.rt.Status(ctx, id.String())
			liveUp = liveUp && err == nil && s.State != runtime.StateStopped && s.State != runtime.StateExited
		}
		if liveUp && px != nil {
			switchColor(px, st.Name, st, st.Live)
		}
	}
	// Some live instances are down (a rolling deploy cut between batches
	// stopped old ones; the keeper lost one): they start again, gated, and
	// become the set before any candidate stops, so capacity never falls
	// below what the front serves now.
	var startErr error
	if st.Live != "" && !st.Stopped && !liveUp {
		live := st.Colors[st.Live]
		e.event(st.Name, "restore.restart", live.Instance+" (or another instance of "+st.Live+") was not running; starting it")
		startErr = e.startLive(ctx, st.Name)
	}
	for color, c := range st.Colors {
		if color == st.Live || c.Warm {
			continue
		}
		if px != nil {
			// The front may still drain them (the daemon died in a drain).
			dctx, cancel := context.WithTimeout(ctx, a.Deploy.DrainTimeout.Duration)
			for _, id := range idsOf(st.Name, st, color) {
				px.Drain(dctx, id.Slot())
			}
			cancel()
		}
		if err := e.stopAll(ctx, idsOf(st.Name, st, color)); err != nil {
			return err
		}
		_ = e.store.UpdateApp(st.Name, func(s *state.App) error {
			delete(s.Colors, color)
			return nil
		})
		e.event(st.Name, "restore.cleanup", "stopped "+color+", left by an interrupted deploy")
	}
	if liveUp {
		live := st.Colors[st.Live]
		e.event(st.Name, "restore.adopted", fmt.Sprintf("re-adopted %s (%d instance(s))", live.Instance, live.Count()))
	}
	return startErr
}
