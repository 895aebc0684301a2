package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/proxy"
)

// rolling replaces the live color's instances batch by batch with new
// ones on the idle color: start max_surge new ones (stopping
// max_unavailable old ones first when there is no surge), wait until each
// passes readiness healthy_after times, add them to the live set, verify
// them, then drain and stop as many old ones. Live capacity never falls
// below instances - max_unavailable. A batch that fails stops the
// rollout: the new instances go, the old ones that were replaced start
// again, and the previous release serves alone. Workers roll the same way
// without a proxy.
func (p *plan) rolling(ctx context.Context) (string, error) {
	live, idle := p.st.Live, other(p.st.Live)
	var px Proxy
	if p.app.Service != nil {
		if err := p.j.step("bind "+p.app.Service.Listen, func() (string, error) {
			var err error
			px, err = p.e.ensureProxy(p.app.Name, p.app.Service)
			return p.app.Service.Protocol, err
		}); err != nil {
			return "failed", err
		}
	}
	olds := idsOf(p.app.Name, p.st, live)
	cs, err := p.prepare(ctx, idle)
	if err != nil {
		p.abandon(ctx, idle)
		return "failed", err
	}
	surge, unavail := p.app.Deploy.MaxSurge, p.app.Deploy.MaxUnavailable
	batch := max(surge, unavail, 1)
	var stopped []instance.ID // old instances already replaced
	for k, b := 0, 1; k < len(cs); k, b = k+batch, b+1 {
		next := cs[k:min(k+batch, len(cs))]
		retire := olds[min(len(stopped), len(olds)):min(len(stopped)+len(next), len(olds))]
		if surge == 0 {
			// No room for more: the old ones give way first.
			p.retireOld(ctx, px, cs[:k], olds[len(stopped):], retire, b)
			stopped = append(stopped, retire...)
		}
		if err := p.rollBatch(ctx, px, cs[:k+len(next)], next, olds[len(stopped):], b); err != nil {
			p.rollBack(ctx, px, live, idle, stopped)
			return "failed", err
		}
		if surge > 0 {
			p.retireOld(ctx, px, cs[:k+len(next)], olds[len(stopped)+len(retire):], retire, b)
			stopped = append(stopped, retire...)
		}
	}
	if rest := olds[min(len(stopped), len(olds)):]; len(rest) > 0 {
		p.retireOld(ctx, px, cs, nil, rest, 0)
	}
	if err := p.commit(idle); err != nil {
		p.rollBack(ctx, px, live, idle, olds)
		return "failed", err
	}
	if px != nil {
		px.SwitchSet(idle, members(cs)) // the set under its color's name
	}
	p.prune(ctx)
	return "succeeded", nil
}

// rollBatch starts and gates batch b's new instances, makes them live
// beside the old ones still serving, and verifies them.
func (p *plan) rollBatch(ctx context.Context, px Proxy, newLive, next []candidate, oldLive []instance.ID, b int) error {
	name := fmt.Sprintf("batch %d", b)
	if err := p.startAndGateAll(ctx, next); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := aborted(p.stop); err != nil {
		return err
	}
	at := zeroStats
	if px != nil {
		at = statsOf(px, next)
		p.setLive(px, newLive, oldLive, name)
	}
	if v := p.verify(ctx, px, next, zeroStats, at); v != nil {
		p.j.d.Numbers = v.numbers
		return fmt.Errorf("%s: %s", name, v.reason)
	}
	return nil
}

// setLive makes the new instances started so far and the old ones still
// serving the live set, in one switch.
func (p *plan) setLive(px Proxy, newLive []candidate, oldLive []instance.ID, what string) {
	_ = p.j.step("live set "+what, func() (string, error) {
		ms := members(newLive)
		for _, id := range oldLive {
			ms = append(ms, proxy.Member{Target: proxyTarget(id.Slot(), p.st.Ports[id.Slot()]), Weight: 1})
		}
		px.SwitchSet(p.st.Live, ms)
		return fmt.Sprintf("%d new, %d old", len(newLive), len(oldLive)), nil
	})
}

// retireOld takes old instances out of the live set, drains and stops them.
func (p *plan) retireOld(ctx context.Context, px Proxy, newLive []candidate, oldLeft, retire []instance.ID, b int) {
	if len(retire) == 0 {
		return
	}
	keep := make([]instance.ID, 0, len(oldLeft))
	for _, id := range oldLeft {
		if !containsID(retire, id) {
			keep = append(keep, id)
		}
	}
	what := fmt.Sprintf("batch %d, old out", b)
	if px != nil {
		p.setLive(px, newLive, keep, what)
		p.drainIDs(ctx, px, what, retire)
	}
	_ = p.j.step("stop old "+what, func() (string, error) {
		return fmt.Sprintf("%d old instance(s)", len(retire)), p.e.stopAll(ctx, retire)
	})
}

// rollBack ends a failed rollout: the old instances replaced so far run
// the previous release again, the set is the old color alone, and the
// new instances go.
func (p *plan) rollBack(ctx context.Context, px Proxy, live, idle string, stopped []instance.ID) {
	p.tr.undo()
	_ = p.j.step("roll back", func() (string, error) {
		a, err := p.e.specs.parse(p.app.Name, p.st.SpecFile, p.st.Spec)
		if err != nil {
			return "", err
		}
		var errs []error
		for _, id := range stopped {
			errs = append(errs, p.e.startOne(ctx, p.st, a, id))
		}
		if px != nil {
			switchColor(px, p.app.Name, p.st, live)
		}
		p.j.d.Live = live
		return fmt.Sprintf("%d replaced instance(s) back on %s", len(stopped), p.st.Colors[live].Release), errors.Join(errs...)
	})
	if px != nil {
		p.drainIDs(ctx, px, idle, instance.Of(p.app.Name, idle, p.app.Deploy.Instances))
	}
	p.abandon(ctx, idle)
}

func containsID(ids []instance.ID, id instance.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
