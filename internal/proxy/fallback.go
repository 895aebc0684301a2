package proxy

// A request whose connection to the live target is refused never reached
// the app, so it can go elsewhere whatever its method. The previous live
// target is usually still running (a blue-green deploy keeps it until the
// verify window ends), so such a request is sent there instead of being
// answered 502. The refusal still counts on the live target (ConnErrors
// and Refused), which the verify window judges as a failed request, but
// the client gets the fallback's answer. Any failed dial qualifies
// (isDialError), refusal being the common one; a request of which a byte
// was written does not. This costs nothing when the dial succeeds.

// fallback moves a request counted on rt, whose target refused it, to the
// fallback route: it is counted in flight and as a request there, counted
// as refused on rt and released from rt. It returns nil, leaving rt's count alone, when there is
// no fallback other than rt's target. Like acquire it re-reads the
// pointer after counting, so a Drain that started meanwhile sees the
// request or the request does not go there.
func (p *Proxy) fallback(rt *route) *route {
	fb := p.prev.Load()
	if fb == nil || fb.target == rt.target {
		return nil
	}
	fb.b.stats.inFlight.Add(1)
	if p.prev.Load() != fb {
		fb.b.stats.inFlight.Add(-1)
		return nil
	}
	fb.b.stats.requests.Add(1)
	rt.b.stats.refused.Add(1)
	rt.release()
	return fb
}

// dropFallback stops sending refused requests to target name.
func (p *Proxy) dropFallback(name string) {
	if fb := p.prev.Load(); fb != nil && fb.target.Name == name {
		p.prev.CompareAndSwap(fb, nil)
	}
}
