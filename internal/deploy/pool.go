package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/proxy"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
)

// pool records which live instances of apps with several failed their
// readiness after the deploy: they leave the live set until they pass
// again. An instance is keyed by its slot and release, so a new release
// starts with every instance in. Safe for concurrent use.
type pool struct {
	mu  sync.Mutex
	out map[string]map[string]string // app -> slot -> release it failed on
}

func newPool() *pool { return &pool{out: map[string]map[string]string{}} }

// mark records slot of app's release rel as failing readiness (out) or
// passing again, and reports whether that changed anything.
func (p *pool) mark(app, slot, rel string, out bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	was := p.out[app][slot] == rel
	switch {
	case out && !was:
		if p.out[app] == nil {
			p.out[app] = map[string]string{}
		}
		p.out[app][slot] = rel
	case !out && was:
		delete(p.out[app], slot)
	}
	return was != out
}

// isOut reports whether slot of app's release rel is out for readiness.
func (p *pool) isOut(app, slot, rel string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out[app][slot] == rel
}

// serving is the live set of app's color: every recorded instance but
// those out for readiness. When every one of them fails readiness, all
// stay in: an instance that fails its readiness check may still answer,
// the proxy sends what one refuses to another, and nothing else could
// serve (the alerts say so).
func (e *Engine) serving(st state.App, color string) (ms []proxy.Member, out int) {
	all := colorSet(st.Name, st, color)
	rel := st.Colors[color].Release
	for _, m := range all {
		if e.pool.isOut(st.Name, m.Target.Name, rel) {
			out++
			continue
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return all, 0
	}
	return ms, out
}

// poolHolder is what a readiness change of the live set holds the app's
// lock as; poolWait bounds how long one waits for another.
const (
	poolHolder = "live set change"
	poolWait   = 5 * time.Second
)

// setServing marks slot (of app's live color, which runs several
// instances) out of or back into the live set and makes the proxy's set
// match. It waits for another such change of the app, and leaves the set
// to a deploy or scale holding the app (its own switch reads the mark).
func (e *Engine) setServing(ctx context.Context, app, slot, reason string, out bool) error {
	st, err := e.store.GetApp(app)
	if err != nil {
		return fmt.Errorf("reading %s for its live set: %w", app, err)
	}
	if id, err := instance.ParseSlot(app, slot); err != nil || id.Color != st.Live {
		return err // only the live color has a set
	}
	if !e.pool.mark(app, slot, st.Colors[st.Live].Release, out) {
		return nil
	}
	unlock, err := e.poolLock(ctx, app)
	if err != nil {
		return err
	}
	defer unlock()
	if st, err = e.store.GetApp(app); err != nil {
		return fmt.Errorf("reading %s for its live set: %w", app, err)
	}
	px, ok := e.px.get(app)
	if !ok || st.Live == "" || st.Stopped {
		return nil
	}
	ms, nOut := e.serving(st, st.Live)
	px.SwitchSet(st.Live, ms)
	n := st.Colors[st.Live].Count()
	switch {
	case !out:
		e.event(app, "monitor.pool.in", fmt.Sprintf("%s: back in the live set, ready again (%d of %d serve)", slot, len(ms), n))
	case nOut == 0:
		e.event(app, "monitor.pool.kept", fmt.Sprintf("%s: fails readiness like every other live instance; all %d stay in the live set: %s", slot, n, reason))
	default:
		e.event(app, "monitor.pool.out", fmt.Sprintf("%s: out of the live set until it is ready again (%d of %d serve): %s", slot, len(ms), n, reason))
	}
	return nil
}

// poolLock takes app's lock for a live set change, waiting (bounded) for
// another one to end; a deploy or other operation holding it wins.
func (e *Engine) poolLock(ctx context.Context, app string) (func(), error) {
	deadline := time.Now().Add(poolWait)
	for {
		unlock, err := e.lock(app, poolHolder)
		if err == nil || !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), poolHolder) || time.Now().After(deadline) {
			return unlock, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Readmit puts a live instance that passes readiness again back into its
// app's live set, for the monitor (see FailOver).
func (e *Engine) Readmit(ctx context.Context, app, slot string) error {
	return e.setServing(ctx, app, slot, "", false)
}

// restartInSet restarts one live instance of several while the others
// serve: it leaves the live set, drains, restarts and passes its checks
// (healthy_after times), then the set is what serving says again. One
// that fails its checks goes back all the same: the monitor judges it
// from there (restart, damped; or out for readiness). The caller holds
// the app's lock.
func (e *Engine) restartInSet(ctx context.Context, px Proxy, st state.App, a *spec.App, id instance.ID) error {
	ms, _ := e.serving(st, st.Live)
	var rest []proxy.Member
	for _, m := range ms {
		if m.Target.Name != id.Slot() {
			rest = append(rest, m)
		}
	}
	if len(rest) > 0 {
		px.SwitchSet(st.Live, rest)
		dctx, cancel := context.WithTimeout(ctx, a.Deploy.DrainTimeout.Duration)
		px.Drain(dctx, id.Slot())
		cancel()
	}
	if err := e.stopAll(ctx, []instance.ID{id}); err != nil {
		return fmt.Errorf("stopping %s for its restart: %w", id, err)
	}
	err := e.startOne(ctx, st, a, id)
	ms, _ = e.serving(st, st.Live)
	px.SwitchSet(st.Live, ms)
	if err != nil {
		return fmt.Errorf("restarting %s: %w", id, err)
	}
	return nil
}
