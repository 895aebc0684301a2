package deploy

import (
	"sync"

	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/spec"
)

// gateSeen holds the latest check results of the instances deploys are
// gating and verifying, so that `berth status` shows a candidate's health
// as its deploy sees it, with the new release's checks, port and
// environment, instead of probing it with the live spec. It is safe for
// concurrent use.
type gateSeen struct {
	mu sync.Mutex
	by map[string]*seenInstance // by instance ID
}

type seenInstance struct {
	checks []spec.Check
	last   map[string]health.Result
}

func newGateSeen() *gateSeen { return &gateSeen{by: map[string]*seenInstance{}} }

// reset forgets what an earlier deploy saw of instance id, now to be gated
// with checks.
func (g *gateSeen) reset(id string, checks []spec.Check) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.by[id] = &seenInstance{checks: checks, last: map[string]health.Result{}}
}

// record keeps r as the latest result of its check on instance id.
func (g *gateSeen) record(id string, r health.Result) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s, ok := g.by[id]; ok {
		s.last[r.Check] = r
	}
}

// latest summarizes what the deploy last saw of instance id.
func (g *gateSeen) latest(id string) (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.by[id]
	if !ok {
		return "", false
	}
	return health.Summary(s.checks, s.last)
}
