package deploy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/proxy"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
)

// blueGreen starts the new release on the idle color, verifies it, switches
// the proxy in one atomic step, watches the new color, and drains the old
// one; a breach in the verify window switches back at once.
func (p *plan) blueGreen(ctx context.Context) (string, error) {
	live, idle := p.st.Live, other(p.st.Live)
	var px Proxy
	if err := p.j.step("bind "+p.app.Service.Listen, func() (string, error) {
		var err error
		px, err = p.e.ensureProxy(p.app.Name, p.app.Service)
		return p.app.Service.Protocol + ", live " + px.Live().Name, err
	}); err != nil {
		return "failed", err
	}
	before := statsOfColor(px, p.app.Name, p.st, live)
	cs, err := p.prepare(ctx, idle)
	if err == nil {
		err = p.startAndGateAll(ctx, cs)
	}
	if err == nil {
		err = aborted(p.stop)
	}
	if err != nil {
		p.abandon(ctx, idle)
		p.rewarm(ctx, idle)
		return "failed", err
	}
	baseline := statsOfColor(px, p.app.Name, p.st, live).Sub(before)
	var prev proxy.Target
	atSwitch := statsOf(px, cs) // counters are cumulative per instance name
	if err := p.j.step("switch to "+idle, func() (string, error) {
		start := time.Now()
		prev = px.SwitchSet(idle, members(cs))
		p.j.d.SwitchTook = time.Since(start)
		return fmt.Sprintf("%s -> %s in %s", prev.Name, idle, p.j.d.SwitchTook), nil
	}); err != nil {
		return "failed", err
	}
	if v := p.verify(ctx, px, cs, baseline, atSwitch); v != nil {
		p.switchBack(ctx, px, cs, v)
		p.rewarm(ctx, idle)
		return "rolled-back", errors.New(v.reason)
	}
	if err := p.commit(idle); err != nil {
		// The store still says the old color is live: so must the proxy.
		p.switchBack(ctx, px, cs, &verdict{reason: err.Error()})
		p.rewarm(ctx, idle)
		return "failed", err
	}
	p.drain(ctx, px, live)
	p.retire(ctx, live)
	p.prune(ctx)
	return "succeeded", nil
}

// switchBack is the automatic rollback: traffic returns to the old color
// first, then the failed candidate is stopped.
func (p *plan) switchBack(ctx context.Context, px Proxy, cs []candidate, v *verdict) {
	p.tr.undo()
	live := p.st.Live
	_ = p.j.step("rollback to "+live, func() (string, error) {
		start := time.Now()
		switchColor(px, p.app.Name, p.st, live)
		p.j.d.Numbers = v.numbers
		p.j.d.Live = live
		return fmt.Sprintf("switched back in %s: %s", time.Since(start), v.reason), nil
	})
	p.e.event(p.app.Name, "rollback", "automatic rollback: "+v.reason)
	p.drainIDs(ctx, px, cs[0].color, candidateIDs(cs))
	p.abandon(ctx, cs[0].color)
}

func candidateIDs(cs []candidate) []instance.ID {
	out := make([]instance.ID, len(cs))
	for i, c := range cs {
		out[i] = c.id
	}
	return out
}

// drain waits for the old color's in-flight requests and streams.
func (p *plan) drain(ctx context.Context, px Proxy, color string) {
	p.drainIDs(ctx, px, color, idsOf(p.app.Name, p.st, color))
}

// drainIDs drains instances ids (of what) side by side, within one
// drain_timeout.
func (p *plan) drainIDs(ctx context.Context, px Proxy, what string, ids []instance.ID) {
	_ = p.j.step("drain "+what, func() (string, error) {
		dctx, cancel := context.WithTimeout(ctx, p.app.Deploy.DrainTimeout.Duration)
		defer cancel()
		rs := make([]proxy.DrainResult, len(ids))
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Go(func() { rs[i] = px.Drain(dctx, id.Slot()) })
		}
		wg.Wait()
		var sum proxy.DrainResult
		for _, r := range rs {
			sum.Drained += r.Drained
			sum.Cut += r.Cut
		}
		p.j.d.Drained += sum.Drained
		p.j.d.Cut += sum.Cut
		return fmt.Sprintf("%d drained, %d cut", sum.Drained, sum.Cut), nil
	})
}

// retire keeps the old color warm for instant rollback, or stops it. A
// restart stops it: it runs the live release, so it is no rollback target,
// and it is the instance being restarted (for the monitor, a stuck one).
func (p *plan) retire(ctx context.Context, color string) {
	if p.j.d.Kind == KindRestart {
		p.stopOld(ctx, color, "restarted on the other color")
		return
	}
	keep := p.app.Deploy.KeepWarm
	if keep != spec.KeepWarmUntilNextDeploy {
		d, _ := time.ParseDuration(keep)
		if d <= 0 {
			p.stopOld(ctx, color, "keep_warm = 0s")
			return
		}
		p.e.stopWarmAfter(p.app.Name, color, d)
	}
	_ = p.j.step("keep "+color+" warm", func() (string, error) {
		err := p.e.store.UpdateApp(p.app.Name, func(a *state.App) error {
			c := a.Colors[color]
			c.Warm = true
			a.Colors[color] = c
			return nil
		})
		return "instant rollback: berth rollback " + p.app.Name + " (" + keep + ")", err
	})
}

// stopOld stops the old color after the switch and forgets it.
func (p *plan) stopOld(ctx context.Context, color, why string) {
	_ = p.j.step("stop "+color, func() (string, error) {
		return why, p.e.stopAll(ctx, idsOf(p.app.Name, p.st, color))
	})
	_ = p.e.store.UpdateApp(p.app.Name, func(a *state.App) error {
		delete(a.Colors, color)
		return nil
	})
}

// stopWarmAfter stops a warm color once keep_warm has passed, unless it
// became live again meanwhile.
func (e *Engine) stopWarmAfter(app, color string, d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := instanceID(app, color)
	if t, ok := e.timers[key]; ok {
		t.Stop()
	}
	e.timers[key] = time.AfterFunc(d, func() {
		unlock, err := e.lock(app, "keep_warm expiry")
		if err != nil {
			return // a deploy is running; it decides what to do with this color
		}
		defer unlock()
		st, err := e.store.GetApp(app)
		if err != nil || st.Live == color || !st.Colors[color].Warm {
			return
		}
		if err := e.stopAll(context.Background(), idsOf(app, st, color)); err != nil {
			e.log.Error("stopping warm instance", "instance", key, "err", err)
			return
		}
		_ = e.store.UpdateApp(app, func(a *state.App) error {
			delete(a.Colors, color)
			return nil
		})
		e.event(app, "warm.stopped", color+" stopped after keep_warm")
	})
}

// event records an event that belongs to no deployment.
func (e *Engine) event(app, kind, msg string) {
	if _, err := e.store.AddEvent(state.Event{Time: time.Now(), App: app, Kind: kind, Message: msg}); err != nil {
		e.log.Error("recording event", "app", app, "err", err)
	}
}
