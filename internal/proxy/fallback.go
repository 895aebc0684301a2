package proxy

import "sync/atomic"

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
// fallback route, or to the live one if a switch back made rt's target the
// fallback: it is counted in flight and as a request there, counted as
// refused on rt and released from rt. It returns nil, leaving rt's count
// alone, when neither is another target. Like acquire it re-reads the
// pointer after counting, so a Drain that started meanwhile sees the
// request or the request does not go there.
func (p *Proxy) fallback(rt *route) *route {
	for _, ptr := range [...]*atomic.Pointer[route]{&p.prev, &p.live} {
		r := ptr.Load()
		if r == nil {
			continue
		}
		fb := r.member(rt.target)
		if fb == nil {
			continue
		}
		fb.b.stats.inFlight.Add(1)
		if ptr.Load() != r {
			fb.b.stats.inFlight.Add(-1)
			continue
		}
		fb.b.stats.requests.Add(1)
		rt.b.stats.refused.Add(1)
		rt.release()
		return fb
	}
	return nil
}

// dropFallback stops sending refused requests to target name, and to the
// whole previous set when name is one of its members.
func (p *Proxy) dropFallback(name string) {
	fb := p.prev.Load()
	if fb == nil {
		return
	}
	hit := fb.target.Name == name
	if fb.set != nil {
		for _, m := range fb.set.members {
			hit = hit || m.target.Name == name
		}
	}
	if hit {
		p.prev.CompareAndSwap(fb, nil)
	}
}
