package deploy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/proxy"
)

// canaryHoldFactor bounds how long a step waits for min_requests past
// step_for: at most this many step_for in all. A canary that never gets
// enough requests to be judged is rolled back, never promoted on noise.
const canaryHoldFactor = 10

// canary starts the new release's instances on the idle color (all
// `instances` of them: a canary needs N extra, as the planner says), gates
// them, then gives them a growing share of requests, step by step, beside
// the old release's instances. Each step is held step_for (or until berth
// promote) and judged on the proxy's per-instance numbers; a breach puts
// the canary's weight to 0 at once, stops it and records the numbers.
// After the last step the new release takes every request and the old
// instances are drained and stopped. The store's live color stays the old
// one until then, so a daemon killed mid-canary comes back on the old
// release (Restore) and the deployment is recorded interrupted.
func (p *plan) canary(ctx context.Context) (string, error) {
	live, idle := p.st.Live, other(p.st.Live)
	c := p.app.Deploy.Canary
	var px Proxy
	if err := p.j.step("bind "+p.app.Service.Listen, func() (string, error) {
		var err error
		px, err = p.e.ensureProxy(p.app.Name, p.app.Service)
		return p.app.Service.Protocol + ", live " + px.Live().Name, err
	}); err != nil {
		return "failed", err
	}
	cr := newCanaryRun(p.j.d.ID, c)
	if p.tr != nil {
		p.tr.canary.Store(cr)
		defer p.tr.canary.Store(nil)
	}
	olds := idsOf(p.app.Name, p.st, live)
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
	var prevOld proxy.Stats
	for k, pct := range c.Steps {
		p.canaryWeights(px, cr, cs, olds, k, pct)
		v, old, err := p.holdStep(ctx, px, cr, cs, olds, k, prevOld)
		if err != nil {
			p.canaryBack(ctx, px, cs, &verdict{reason: err.Error()})
			return "failed", err
		}
		if v != nil {
			v.numbers["step"], v.numbers["percent"] = float64(k+1), float64(pct)
			p.canaryBack(ctx, px, cs, v)
			return "rolled-back", fmt.Errorf("canary step %d (%d%%): %s", k+1, pct, v.reason)
		}
		if old.Latency.Count() > 0 {
			prevOld = old
		}
	}
	cr.set(func(s *CanaryStatus) { s.State = CanaryPromoting })
	if err := p.commit(idle); err != nil {
		p.canaryBack(ctx, px, cs, &verdict{reason: err.Error()})
		return "failed", err
	}
	px.SwitchSet(idle, members(cs)) // the set under its color's name
	p.drainIDs(ctx, px, live, olds)
	p.stopOld(ctx, live, "replaced by the canary's release")
	p.prune(ctx)
	return "succeeded", nil
}

// canaryWeights makes the old instances and the canary's one live set in
// which the canary side has pct percent of the weight: each old instance
// weighs (100-pct) x len(cs), each new one pct x len(olds), so the sides'
// shares are exact whatever the counts. At 100 the old ones weigh 0 and
// leave the set (they keep what they have in flight).
func (p *plan) canaryWeights(px Proxy, cr *canaryRun, cs []candidate, olds []instance.ID, k, pct int) {
	_ = p.j.step(fmt.Sprintf("canary weight %d%%", pct), func() (string, error) {
		ws := map[string]int{}
		var ms []proxy.Member
		for _, id := range olds {
			m := proxy.Member{Target: proxyTarget(id.Slot(), p.st.Ports[id.Slot()]), Weight: (100 - pct) * len(cs)}
			ms, ws[m.Target.Name] = append(ms, m), m.Weight
		}
		for _, c := range cs {
			m := proxy.Member{Target: c.proxyTarget(), Weight: pct * max(len(olds), 1), Canary: true}
			ms, ws[m.Target.Name] = append(ms, m), m.Weight
		}
		px.SwitchSet(p.st.Live, ms)
		cr.set(func(s *CanaryStatus) {
			s.Step, s.Percent, s.Weights, s.State = k+1, pct, ws, CanaryAnalysing
			if p.app.Deploy.Canary.StepFor.Manual {
				s.State = CanaryWaiting
			}
		})
		return fmt.Sprintf("step %d of %d: %d new, %d old instance(s)", k+1, len(p.app.Deploy.Canary.Steps), len(cs), len(olds)), nil
	})
}

// holdStep holds step k and judges it: the canary's instances must stay
// up and pass their checks, and its numbers stay within bounds. It ends
// when step_for passed with min_requests (held longer, up to
// canaryHoldFactor x step_for, when fewer), or at berth promote. It
// returns a breach, or the old release's numbers over the step (the next
// step's p99 baseline when the old release takes too few requests there);
// err is an abort.
func (p *plan) holdStep(ctx context.Context, px Proxy, cr *canaryRun, cs []candidate, olds []instance.ID, k int, prevOld proxy.Stats) (*verdict, proxy.Stats, error) {
	c := p.app.Deploy.Canary
	var v *verdict
	var old proxy.Stats
	var abortErr error
	name := fmt.Sprintf("canary step %d (%d%%)", k+1, c.Steps[k])
	err := p.j.step(name, func() (string, error) {
		var detail string
		v, old, detail, abortErr = p.watchStep(ctx, px, cr, cs, olds, k+1, prevOld)
		switch {
		case abortErr != nil:
			return "", abortErr
		case v != nil:
			return "", errors.New(v.reason)
		}
		return detail, nil
	})
	if abortErr != nil {
		return nil, old, abortErr
	}
	if v == nil && err != nil {
		return nil, old, err
	}
	return v, old, nil
}

// watchStep is holdStep's loop, every verifyTick.
func (p *plan) watchStep(ctx context.Context, px Proxy, cr *canaryRun, cs []candidate, olds []instance.ID, step int, prevOld proxy.Stats) (*verdict, proxy.Stats, string, error) {
	c := p.app.Deploy.Canary
	stop := p.stop
	if stop == nil {
		stop = ctx
	}
	wctx, cancel := context.WithCancel(stop)
	failing, wait := p.canaryWatchers(wctx, cs)
	defer wait()
	defer cancel()
	start := time.Now()
	at, oldAt := statsOf(px, cs), statsOfIDs(px, olds)
	hold := canaryHoldFactor * c.StepFor.Duration
	t := time.NewTicker(verifyTick)
	defer t.Stop()
	for {
		select {
		case <-stop.Done():
			return nil, proxy.Stats{}, "", aborted(stop)
		case <-t.C:
		}
		for _, cd := range cs {
			if err := p.alive(ctx, cd.inst.ID)(); err != nil {
				return &verdict{reason: err.Error(), numbers: map[string]float64{}}, proxy.Stats{}, "", nil
			}
		}
		if f := failing(); f != "" {
			return &verdict{reason: f, numbers: map[string]float64{}}, proxy.Stats{}, "", nil
		}
		cur, old := statsOf(px, cs).Sub(at), statsOfIDs(px, olds).Sub(oldAt)
		if v := judgeCanary(c, cur, old, false); v != nil {
			return v, old, "", nil
		}
		promoted := cr.promoted(step)
		held := time.Since(start)
		if !promoted && (c.StepFor.Manual || held < c.StepFor.Duration) {
			continue
		}
		if !promoted && !enoughRequests(c, cur) {
			if held >= hold {
				return &verdict{numbers: map[string]float64{"requests": float64(cur.Requests)}, reason: fmt.Sprintf(
					"only %d of min_requests %d reached the canary in %s (%d x step_for); lower min_requests or raise the step's share",
					cur.Requests, c.MinRequests, held.Round(time.Second), canaryHoldFactor)}, old, "", nil
			}
			cr.set(func(s *CanaryStatus) { s.State = CanaryTooFew })
			continue
		}
		base := old
		if base.Latency.Count() < uint64(max(c.MinRequests, minLatencySamples)) {
			base = prevOld // the old release took (almost) nothing: the last step's
		}
		if v := judgeCanary(c, cur, base, true); v != nil {
			return v, old, "", nil
		}
		how := "held " + held.Round(time.Millisecond).String()
		if promoted {
			how = "promoted after " + held.Round(time.Millisecond).String()
		}
		return nil, old, fmt.Sprintf("%s: canary %d requests, %d errors, p99 %s; old %d requests, p99 %s", how,
			cur.Requests, cur.Status5xx+cur.Refused, cur.Latency.P99(), old.Requests, old.Latency.P99()), nil
	}
}

// canaryWatchers runs the canary's verify checks (readiness, liveness, and
// functional ones that roll back) until ctx ends; failing names one that
// fails. wait waits for them after ctx ended.
func (p *plan) canaryWatchers(ctx context.Context, cs []candidate) (failing func() string, wait func()) {
	var mu sync.Mutex
	var lastFail health.Result
	var wg sync.WaitGroup
	ws := make([]*health.Watcher, len(cs))
	for i, c := range cs {
		record := p.e.checkRecorder(p.app, c.id.Slot())
		ws[i] = health.NewWatcher(verifyChecks(p.app.Checks), c.target(p.e.rt), func(r health.Result) {
			record(r)
			p.e.seen.record(c.inst.ID, r)
			if !r.OK {
				mu.Lock()
				lastFail = r
				mu.Unlock()
			}
		})
		wg.Go(func() { _ = ws[i].Run(ctx) })
	}
	failing = func() string {
		for _, w := range ws {
			if f := w.Failing(); len(f) > 0 {
				mu.Lock()
				defer mu.Unlock()
				return fmt.Sprintf("check %s failing on the canary: %s", f[0], lastFail.Err)
			}
		}
		return ""
	}
	return failing, wg.Wait
}

// canaryBack ends a canary that failed or was aborted: its weight goes to
// 0 first (the old release's set alone, in one switch), then it drains and
// stops. v's numbers go into the deployment's record.
func (p *plan) canaryBack(ctx context.Context, px Proxy, cs []candidate, v *verdict) {
	p.tr.undo()
	live := p.st.Live
	_ = p.j.step("canary weight 0", func() (string, error) {
		start := time.Now()
		switchColor(px, p.app.Name, p.st, live)
		if len(v.numbers) > 0 {
			p.j.d.Numbers = v.numbers
		}
		p.j.d.Live = live
		return fmt.Sprintf("%s alone again in %s: %s", live, time.Since(start), v.reason), nil
	})
	p.e.event(p.app.Name, "rollback", "canary rolled back: "+v.reason)
	p.drainIDs(ctx, px, cs[0].color, candidateIDs(cs))
	p.abandon(ctx, cs[0].color)
	p.rewarm(ctx, cs[0].color) // a warm previous release it displaced comes back
}

// statsOfIDs sums the proxy's numbers of instances ids.
func statsOfIDs(px Proxy, ids []instance.ID) proxy.Stats {
	var sum proxy.Stats
	for _, id := range ids {
		sum = sum.Add(px.Stats(id.Slot()))
	}
	return sum
}
