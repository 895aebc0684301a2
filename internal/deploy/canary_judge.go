package deploy

import (
	"fmt"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
	"github.com/berth-dev/berth/internal/spec"
)

// judgeCanary compares the canary's numbers over a step (cur) with the
// spec's bounds and the old release's over the same window (old); nil
// means no breach. Errors are judged on every tick once min_requests
// finished, so a bad canary loses its weight within a tick of crossing
// the bound; the p99 ratio only when the step ends (final), over the
// whole step, because a p99 needs many requests on both sides and a fresh
// process is briefly slower. Requests are counted as judge counts them:
// finished ones, a refused dial that the old release answered counted as
// the canary's failure.
func judgeCanary(c *spec.Canary, cur, old proxy.Stats, final bool) *verdict {
	done := cur.Status2xx + cur.Status3xx + cur.Status4xx + cur.Status5xx + cur.Refused
	if done == 0 || int(done) < c.MinRequests {
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
	if max := float64(c.MaxErrorRate) / 100; rate > max {
		return &verdict{numbers: nums, reason: fmt.Sprintf(
			"canary error rate %.1f%% (%d of %d requests) over max_error_rate %s",
			100*rate, bad, done, pct(float64(c.MaxErrorRate)))}
	}
	oldN := old.Latency.Count()
	enough := uint64(max(c.MinRequests, minLatencySamples))
	if !final || c.MaxP99Ratio <= 0 || oldN < enough || cur.Latency.Count() < enough {
		return nil
	}
	op99 := old.Latency.Quantile(0.99)
	nums["old_p99_ms"], nums["old_requests"] = ms(op99), float64(oldN)
	if float64(p99) > c.MaxP99Ratio*float64(op99) && p99-op99 > latencyFloor {
		return &verdict{numbers: nums, reason: fmt.Sprintf(
			"canary p99 latency %s against the old release's %s over the step (max_p99_ratio %.1f)",
			p99.Round(time.Millisecond), op99.Round(time.Millisecond), c.MaxP99Ratio)}
	}
	return nil
}

// enoughRequests reports whether the canary finished min_requests in the
// window: fewer, and the step is held longer rather than judged on noise.
func enoughRequests(c *spec.Canary, cur proxy.Stats) bool {
	done := cur.Status2xx + cur.Status3xx + cur.Status4xx + cur.Status5xx + cur.Refused
	return int(done) >= c.MinRequests
}

func pct(f float64) string { return fmt.Sprintf("%g%%", f) }
