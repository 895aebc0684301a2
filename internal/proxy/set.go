package proxy

import (
	"net/netip"
	"sync/atomic"
)

// Member is one target of a live set and its share of new requests.
type Member struct {
	Target Target
	// Weight is the member's relative share of new requests; 0 sends it
	// none (it keeps what it has in flight). Negative counts as 0.
	Weight int
	// Canary marks the new release's members in a canary: when a set has
	// both kinds, the canary side gets exactly its weights' share of new
	// requests (see split) and CanaryHeader can pin a request to a side.
	Canary bool `json:",omitempty"`
}

// set is the part of a route that makes it a group of live targets.
// Each member is a route of its own, which acquire returns, so the
// request path past acquire is the same for one target and for many.
type set struct {
	members []*route
	weights []int64
	// groups index members: all of them, the stable side and the canary
	// side (both empty without a split); next is where each group's next
	// pick starts, so ties spread.
	groups [3][]int
	next   [3]atomic.Uint32
	split  *split        // nil: no canary split
	seq    atomic.Uint64 // requests the split has placed
	live   []Member      // as given, for LiveSet
}

// The groups of a set's members.
const (
	groupAll = iota
	groupStable
	groupCanary
)

// SwitchSet makes members the live targets in one atomic step, under
// name (what Live reports), and returns the previous live target. New
// requests go to the member with the fewest requests in flight for its
// weight (least outstanding requests); requests already started finish
// where they are. A set of one member with a positive weight is exactly
// Switch of that member, with its fast path. An empty set, or one whose
// weights are all 0, is a switch to no target.
//
// The fallback of a refused dial (fallback.go) is the previous live
// target when it has another name, as with Switch, and otherwise another
// member of the set.
func (p *Proxy) SwitchSet(name string, members []Member) (prev Target) {
	var live []Member
	for _, m := range members {
		if m.Weight > 0 && m.Target != (Target{}) {
			live = append(live, m)
		}
	}
	switch len(live) {
	case 0:
		return p.Switch(Target{})
	case 1:
		if live[0].Target.Name == name {
			return p.Switch(live[0].Target)
		}
	}
	s := &set{split: newSplit(live), live: live}
	next := &route{target: Target{Name: name, Addr: live[0].Target.Addr}, ipPort: true, set: s}
	for _, m := range live {
		_, err := netip.ParseAddrPort(m.Target.Addr)
		r := &route{target: m.Target, b: p.backend(m.Target.Name), ipPort: err == nil}
		next.ipPort = next.ipPort && r.ipPort
		s.members = append(s.members, r)
		s.weights = append(s.weights, int64(m.Weight))
		s.groups[groupAll] = append(s.groups[groupAll], len(s.members)-1)
		if s.split != nil {
			g := groupStable
			if m.Canary {
				g = groupCanary
			}
			s.groups[g] = append(s.groups[g], len(s.members)-1)
		}
	}
	return p.swap(next, name)
}

// LiveSet returns the live targets and their weights: one member of
// weight 1 after Switch, none when nothing is live.
func (p *Proxy) LiveSet() []Member {
	r := p.live.Load()
	switch {
	case r == nil:
		return nil
	case r.set == nil:
		return []Member{{Target: r.target, Weight: 1}}
	}
	return append([]Member(nil), r.set.live...)
}

// pick returns the member with the fewest requests in flight per unit of
// weight, skipping not. Least outstanding requests rather than round
// robin: an instance that is slow (a long request, a GC pause, a cold
// cache) gets fewer new requests while it is slow, and a fresh instance
// that joined a loaded set catches up at once. Scanning starts one
// further each time, so equal members share requests evenly. In a canary
// split the side is chosen first (by pn, else by the share) and the
// member within it; a side left empty by not gives way to the other.
func (s *set) pick(not Target, pn pin) *route {
	if s.split == nil {
		return s.pickIn(not, groupAll)
	}
	g := groupStable
	switch {
	case pn == pinCanary:
		g = groupCanary
	case pn == pinStable:
	case s.split.side(s.seq.Add(1)):
		g = groupCanary
	}
	if m := s.pickIn(not, g); m != nil {
		return m
	}
	return s.pickIn(not, groupAll)
}

// pickIn is pick among group g's members, with a rotation of its own so
// that each side's members share its requests evenly.
func (s *set) pickIn(not Target, g int) *route {
	idx := s.groups[g]
	n := len(idx)
	if n == 0 {
		return nil
	}
	start := int(s.next[g].Add(1) % uint32(n))
	var best *route
	var bestLoad, bestWeight int64
	for k := range n {
		i := idx[(start+k)%n]
		m := s.members[i]
		if m.target == not {
			continue
		}
		load, w := m.b.stats.inFlight.Load()+1, s.weights[i]
		// load/w < bestLoad/bestWeight, without division.
		if best == nil || load*bestWeight < bestLoad*w {
			best, bestLoad, bestWeight = m, load, w
		}
	}
	return best
}

// member resolves r to the route a new request goes to: r itself, or one
// of its set's members other than not.
func (r *route) member(not Target) *route {
	if r.set == nil {
		if r.target == not {
			return nil
		}
		return r
	}
	return r.set.pick(not, pinNone)
}
