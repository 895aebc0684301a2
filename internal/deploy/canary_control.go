package deploy

import (
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/berth-dev/berth/internal/spec"
)

// ErrNotCanary is returned by Promote when the app's running deploy is not
// a canary.
var ErrNotCanary = errors.New("the running deploy is not a canary")

// Canary states, as CanaryStatus.State gives them.
const (
	CanaryStarting  = "starting"            // the new instances start and pass their checks
	CanaryAnalysing = "analysing"           // a step is held and judged
	CanaryWaiting   = "waiting for promote" // a manual step: berth promote moves on
	CanaryTooFew    = "too few requests"    // held past step_for until min_requests
	CanaryPromoting = "promoting"           // the last step passed: all on the new release
)

// CanaryStatus is a running canary as `berth status` shows it. Its JSON
// form is part of berth's stable CLI output.
type CanaryStatus struct {
	Deployment string         `json:"deployment"`
	Step       int            `json:"step"` // 1-based; 0 while starting
	Steps      []int          `json:"steps"`
	Percent    int            `json:"percent"` // the new release's share of requests now
	StepFor    string         `json:"step_for"`
	State      string         `json:"state"`
	Weights    map[string]int `json:"weights,omitempty"` // proxy target -> weight
}

// canaryRun is a canary's state that Promote and Status read while its
// deploy runs. Safe for concurrent use.
type canaryRun struct {
	promote chan int // the step (1-based) a pending promote ends; one at most

	mu sync.Mutex
	st CanaryStatus
}

func newCanaryRun(id string, c *spec.Canary) *canaryRun {
	return &canaryRun{promote: make(chan int, 1),
		st: CanaryStatus{Deployment: id, Steps: c.Steps, StepFor: c.StepFor.String(), State: CanaryStarting}}
}

func (c *canaryRun) set(fn func(s *CanaryStatus)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(&c.st)
}

func (c *canaryRun) status() CanaryStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.st
	s.Weights = maps.Clone(c.st.Weights)
	return s
}

// promoted takes a pending promote, if there is one, and reports whether
// it was for step (1-based): a promote of a step that ended by itself just
// before does not skip the next one.
func (c *canaryRun) promoted(step int) bool {
	select {
	case s := <-c.promote:
		return s == step
	default:
		return false
	}
}

// Promote ends the running canary's current step of app now: a manual
// step, a timed one, or one held for min_requests moves to the next step
// (at the last, the new release takes every instance). The current step's
// numbers are still judged first where there are enough. It returns the
// deployment's ID and the step promoted, without waiting.
func (e *Engine) Promote(app, user string) (string, int, error) {
	e.mu.Lock()
	r, ok := e.runs[app]
	e.mu.Unlock()
	if !ok {
		return "", 0, fmt.Errorf("%w: %s", ErrNotRunning, app)
	}
	c := r.canary.Load()
	if c == nil {
		return r.id, 0, fmt.Errorf("%w: deployment %s of %s", ErrNotCanary, r.id, app)
	}
	r.cmu.Lock()
	defer r.cmu.Unlock()
	if r.committed {
		return r.id, 0, fmt.Errorf("%w: deployment %s of %s is promoting", ErrCommitted, r.id, app)
	}
	if r.undoing {
		return r.id, 0, fmt.Errorf("%w: deployment %s of %s", ErrUndoing, r.id, app)
	}
	st := c.status()
	if st.Step == 0 {
		return r.id, 0, fmt.Errorf("%w: deployment %s of %s is still starting its new instances; promote once a step is held", ErrNotCanary, r.id, app)
	}
	select {
	case c.promote <- st.Step:
	default: // one pending already: promote moves one step
	}
	e.event(app, "canary.promote", fmt.Sprintf("deployment %s step %d (%d%%) promoted by %s", r.id, st.Step, st.Percent, user))
	return r.id, st.Step, nil
}

// canaryStatus is app's running canary, if any.
func (e *Engine) canaryStatus(app string) *CanaryStatus {
	e.mu.Lock()
	r, ok := e.runs[app]
	e.mu.Unlock()
	if !ok {
		return nil
	}
	c := r.canary.Load()
	if c == nil {
		return nil
	}
	s := c.status()
	return &s
}
