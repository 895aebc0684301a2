package health

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/spec"
)

// tracker counts one check's consecutive passes and failures. It is not safe
// for concurrent use; its owner serializes results.
type tracker struct {
	check      spec.Check
	started    time.Time // when the instance started being checked
	passedOnce bool
	passes     int // consecutive
	fails      int // consecutive, only those that count
	last       Result
}

func newTracker(c spec.Check, started time.Time) *tracker {
	return &tracker{check: c, started: started}
}

// observe records r. A failure inside the start period does not count,
// unless the check has already passed once: then the instance has started
// and, as in Compose, every failure counts.
func (t *tracker) observe(r Result) {
	t.last = r
	if r.OK {
		t.passedOnce = true
		t.passes++
		t.fails = 0
		return
	}
	t.passes = 0
	if !t.passedOnce && r.At.Sub(t.started) < t.check.StartPeriod.Duration {
		return
	}
	t.fails++
}

// unhealthy reports whether the check has failed Retries times in a row.
func (t *tracker) unhealthy() bool { return t.fails >= t.check.Retries }

// indexed is a result tagged with the position of its check, so two checks
// that share a name are still counted apart.
type indexed struct {
	i int
	r Result
}

// schedule probes p now and then every interval, sending each result to out
// until ctx ends. A probe slower than the interval delays the next one
// rather than overlapping it.
func schedule(ctx context.Context, i int, p Probe, interval time.Duration, out chan<- indexed) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		start := time.Now()
		r := p.Probe(ctx)
		if ctx.Err() != nil {
			return // a probe cut short by shutdown says nothing about health
		}
		select {
		case out <- indexed{i, r}:
		case <-ctx.Done():
			return
		}
		timer.Reset(max(0, interval-time.Since(start)))
	}
}

// group runs the schedules of a set of checks and waits for them.
type group struct {
	wg      sync.WaitGroup
	results chan indexed
}

// startGroup starts probing checks against t with one shared HTTP client.
// Callers must cancel ctx and then call wait.
func startGroup(ctx context.Context, checks []spec.Check, t Target, client *http.Client) *group {
	g := &group{results: make(chan indexed)}
	for i, c := range checks {
		p := newProbe(c, t, client)
		g.wg.Go(func() { schedule(ctx, i, p, c.Interval.Duration, g.results) })
	}
	return g
}

func (g *group) wait() { g.wg.Wait() }
