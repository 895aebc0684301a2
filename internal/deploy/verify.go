package deploy

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/proxy"
	"github.com/berth-dev/berth/internal/spec"
)

// latencyFloor keeps the latency criterion from firing on differences no
// user would notice, and on a loaded machine's scheduling noise.
const latencyFloor = 50 * time.Millisecond

// minLatencySamples is the fewest requests on each side of the switch for
// a p99 comparison.
const minLatencySamples = 100

// verifyTick is how often the verify window looks at the proxy's numbers.
const verifyTick = 25 * time.Millisecond

var zeroStats proxy.Stats

// verdict says why the verify window failed, with the numbers behind it.
type verdict struct {
	reason  string
	numbers map[string]float64
}

// verify watches the new color for verify_for: its checks keep running, it
// must stay up, and (with a proxy) its error ratio and p99 latency must stay
// within the spec's bounds against the old color's baseline. It returns nil
// when the window passes.
func (p *plan) verify(ctx context.Context, px Proxy, cs []candidate, baseline, start proxy.Stats) *verdict {
	var v *verdict
	_ = p.j.step("verify "+cs[0].color, func() (string, error) {
		v = p.watch(ctx, px, cs, baseline, start)
		if v != nil {
			return "", fmt.Errorf("%s", v.reason)
		}
		return fmt.Sprintf("%s passed", p.app.Deploy.VerifyFor.Duration), nil
	})
	return v
}

// watch is verify's window over every candidate: each one's checks, each
// one alive, their numbers together.
func (p *plan) watch(ctx context.Context, px Proxy, cs []candidate, baseline, start proxy.Stats) *verdict {
	stop := p.stop
	if stop == nil {
		stop = ctx
	}
	wctx, cancel := context.WithTimeout(stop, p.app.Deploy.VerifyFor.Duration)
	defer cancel()
	var mu sync.Mutex
	var lastFail health.Result
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	ws := make([]*health.Watcher, len(cs))
	alives := make([]func() error, len(cs))
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
		wg.Go(func() { _ = ws[i].Run(wctx) })
		alives[i] = p.alive(ctx, c.inst.ID)
	}
	alive := func() error {
		for _, a := range alives {
			if err := a(); err != nil {
				return err
			}
		}
		return nil
	}
	failing := func() []string {
		for _, w := range ws {
			if f := w.Failing(); len(f) > 0 {
				return f
			}
		}
		return nil
	}
	t := time.NewTicker(verifyTick)
	defer t.Stop()
	for {
		select {
		case <-wctx.Done():
			if err := aborted(stop); err != nil {
				return &verdict{reason: err.Error()}
			}
			if px != nil && ctx.Err() == nil {
				return judge(p.app.Deploy, statsOf(px, cs).Sub(start), baseline, true)
			}
			return nil
		case <-t.C:
		}
		if err := alive(); err != nil {
			return &verdict{reason: err.Error()}
		}
		if failing := failing(); len(failing) > 0 {
			mu.Lock()
			msg := lastFail.Err
			mu.Unlock()
			return &verdict{reason: fmt.Sprintf("check %s failing after the switch: %s", failing[0], msg)}
		}
		if px != nil {
			if v := judge(p.app.Deploy, statsOf(px, cs).Sub(start), baseline, false); v != nil {
				return v
			}
		}
	}
}

// verifyChecks are the checks whose failure in the verify window rolls the
// deploy back: readiness and liveness, and functional checks that say
// on_failure = "rollback". Startup checks only gate the start; other
// functional checks alert, from the monitor, once the release is live.
func verifyChecks(all []spec.Check) []spec.Check {
	var out []spec.Check
	for _, c := range all {
		switch {
		case c.Role == spec.RoleStartup:
		case c.Role == spec.RoleFunctional && c.OnFailure != spec.OnFailureRollback:
		default:
			out = append(out, c)
		}
	}
	return out
}

// judge compares the new color's live numbers with the spec's bounds and the
// old color's baseline; nil means no breach. Errors are judged on every
// tick, so a broken release is rolled back within a tenth of a second;
// latency only at the end of the window (final), over all of it, because a
// p99 needs many requests and a fresh process is briefly slower. Ratios are over finished
// requests only (a request in flight has no status yet), and a failed
// backend connection counts once, as the 502 the proxy answered: a stale
// connection that a retry saved is not the new release's fault. A request
// the candidate refused and the proxy sent to the old color (Refused) is
// a failure of the candidate.
func judge(d spec.Deploy, cur, base proxy.Stats, final bool) *verdict {
	// A request the candidate refused and the old color answered is the
	// candidate's failure although its client got an answer.
	done := cur.Status2xx + cur.Status3xx + cur.Status4xx + cur.Status5xx + cur.Refused
	if done == 0 || int(done) < d.MinRequests {
		return nil
	}
	bad := cur.Status5xx + cur.Refused
	rate := float64(bad) / float64(done)
	p99 := cur.Latency.Quantile(0.99)
	nums := map[string]float64{
		"requests":   float64(done),
		"errors":     float64(bad),
		"error_rate": rate,
		"p99_ms":     ms(p99),
	}
	if rate > d.MaxErrorRate {
		return &verdict{numbers: nums, reason: fmt.Sprintf(
			"error rate %.1f%% (%d of %d requests) over max_error_rate %.1f%%",
			100*rate, bad, done, 100*d.MaxErrorRate)}
	}
	// A p99 of fewer than 100 requests is their maximum: noise, not a trend.
	enough := max(d.MinRequests, minLatencySamples)
	if !final || d.MaxLatencyRise <= 0 || int(base.Latency.Count()) < enough || int(cur.Latency.Count()) < enough {
		return nil
	}
	bp99 := base.Latency.Quantile(0.99)
	nums["baseline_p99_ms"] = ms(bp99)
	if float64(p99) > d.MaxLatencyRise*float64(bp99) && p99-bp99 > latencyFloor {
		return &verdict{numbers: nums, reason: fmt.Sprintf(
			"p99 latency %s against %s before the switch (max_latency_rise %.1fx)",
			p99.Round(time.Millisecond), bp99.Round(time.Millisecond), d.MaxLatencyRise)}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
