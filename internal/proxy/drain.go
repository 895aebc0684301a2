package proxy

import (
	"context"
	"time"
)

// DrainResult says how a Drain ended: Drained in-flight requests, streams
// and connections finished on their own, Cut were closed when the drain
// budget ran out.
type DrainResult struct {
	Drained int
	Cut     int
}

// drainPoll is how often Drain looks at the in-flight count. Drains last
// seconds, so polling is cheaper than signalling from every request.
const drainPoll = 5 * time.Millisecond

// Drain waits until nothing is in flight on target name: HTTP requests,
// upgraded tunnels and streams such as SSE, TCP connections. If ctx ends
// first it closes what remains and reports it as Cut. Drain the target
// after switching away from it; draining the live target cuts requests
// that keep arriving. A drained target stops being the fallback of
// refused requests (fallback.go). Idle pooled connections to the target are closed
// either way, so the old instance can be stopped.
func (p *Proxy) Drain(ctx context.Context, name string) DrainResult {
	b := p.lookup(name)
	if b == nil {
		return DrainResult{}
	}
	defer b.closeIdle()
	p.dropFallback(name)
	start := int(b.stats.inFlight.Load())
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	for {
		n := int(b.stats.inFlight.Load())
		if n <= 0 {
			return DrainResult{Drained: start}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			b.cut()
			p.settle(b)
			return DrainResult{Drained: max(start-n, 0), Cut: n}
		}
	}
}

// settle waits a little for cut requests to unwind, so Stats after a Drain
// show them gone. Closed sockets fail fast; the bound is only a backstop.
func (p *Proxy) settle(b *backend) {
	deadline := time.Now().Add(2 * time.Second)
	for b.stats.inFlight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(drainPoll)
	}
}
