package proxy

import "strings"

// CanaryHeader is the request header that pins a request to one side of
// a canary split: "always" sends it to the canary members, "never" to the
// others. The proxy strips it before forwarding: it is addressed to the
// proxy, like a hop-by-hop field, and an agent never needs to see it.
// Without a split (no canary members, or only canary members) it has no
// effect; any other value is ignored.
const CanaryHeader = "X-Berth-Canary"

// pin is a request's choice of side in a canary split.
type pin uint8

const (
	pinNone   pin = iota // the split's weights decide
	pinCanary            // X-Berth-Canary: always
	pinStable            // X-Berth-Canary: never
)

// pinOf reads a CanaryHeader value.
func pinOf(v string) pin {
	switch {
	case strings.EqualFold(v, "always"):
		return pinCanary
	case strings.EqualFold(v, "never"):
		return pinStable
	}
	return pinNone
}

// split is the canary part of a set: which members are the canary and
// what share of new requests their side gets. The side is chosen first,
// by the share, and the member within it by least outstanding requests:
// a canary's share is a traffic split the analysis relies on, not a load
// balancing outcome, so it must hold under sequential load (where every
// member is idle and least outstanding alone would always pick the
// heaviest) and under concurrent load alike.
type split struct {
	share uint64 // sum of the canary members' weights
	total uint64 // sum of all weights
}

// newSplit returns the split of ms, or nil when ms are all canary or all
// not (nothing to split).
func newSplit(ms []Member) *split {
	sp := &split{}
	for _, m := range ms {
		sp.total += uint64(m.Weight)
		if m.Canary {
			sp.share += uint64(m.Weight)
		}
	}
	if sp.share == 0 || sp.share == sp.total {
		return nil
	}
	return sp
}

// side says whether the n-th request (counting from 1) of the set goes to
// the canary: the n-th request crosses a multiple of total/share exactly
// share times in every total requests (a Bresenham line), so the split is
// exact over any run of total requests, without a lock.
func (sp *split) side(n uint64) bool {
	return n*sp.share/sp.total != (n-1)*sp.share/sp.total
}
