package health

import (
	"context"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/spec"
)

// Transition is a change of one check's health, as Watcher sees it.
type Transition struct {
	Check   string // the check's name
	Healthy bool   // true: it recovered; false: it failed Retries times in a row
	Last    Result // the result that caused the change
}

// Watcher probes an instance on each check's schedule until its context
// ends, reporting every result and every change of health. It is used in
// the verify window after a switch and for continuous monitoring.
//
// Failing is safe for concurrent use; OnTransition must be called before
// Run, and Run only once.
type Watcher struct {
	checks       []spec.Check
	target       Target
	onResult     func(Result)
	onTransition func(Transition)

	mu      sync.Mutex
	running bool
	failing []bool // by check index
}

// NewWatcher returns a watcher for checks against t. With no checks it
// watches that t.Port accepts connections (nothing when t.Port is 0).
// onResult (may be nil) sees every result, from one goroutine at a time.
func NewWatcher(checks []spec.Check, t Target, onResult func(Result)) *Watcher {
	var cs []spec.Check
	for _, c := range checks {
		cs = append(cs, normalize(c))
	}
	if len(cs) == 0 && t.Port != 0 {
		cs = []spec.Check{listenCheck()}
	}
	return &Watcher{checks: cs, target: t, onResult: onResult, failing: make([]bool, len(cs))}
}

// OnTransition sets fn (may be nil) to be told each time a check becomes
// unhealthy or recovers. It must be called before Run.
func (w *Watcher) OnTransition(fn func(Transition)) { w.onTransition = fn }

// StartFailing marks the checks of role as failing from the start, so
// their first passes (RecoverAfter in a row) report a recovery: watching
// an instance already known to fail them, e.g. one taken out of its live
// set, after a restart of the watcher. It must be called before Run.
func (w *Watcher) StartFailing(role string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, c := range w.checks {
		if c.Role == role {
			w.failing[i] = true
		}
	}
}

// Run probes until ctx ends, then waits for its probes and returns nil. A
// check's start period counts from the call, and ends early once the check
// passes, so watching an instance already known healthy counts every
// failure. It returns ErrAlreadyRunning if called twice.
func (w *Watcher) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.running {
		w.mu.Unlock()
		return ErrAlreadyRunning
	}
	w.running = true
	w.mu.Unlock()

	client := newHTTPClient()
	defer client.CloseIdleConnections()
	trackers := make([]*tracker, len(w.checks))
	now := time.Now()
	for i, c := range w.checks {
		trackers[i] = newTracker(c, now)
	}
	ctx, cancel := context.WithCancel(ctx)
	grp := startGroup(ctx, w.checks, w.target, client)
	defer grp.wait()
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ir := <-grp.results:
			w.record(trackers[ir.i], ir)
		}
	}
}

// record updates the state with one result and reports it.
func (w *Watcher) record(tr *tracker, ir indexed) {
	if w.onResult != nil {
		w.onResult(ir.r)
	}
	tr.observe(ir.r)
	w.mu.Lock()
	// Damping both ways: Retries failures in a row to go bad, RecoverAfter
	// passes in a row to be good again, so a flapping check does not
	// restart or alert on every other probe.
	bad := tr.unhealthy() || (w.failing[ir.i] && tr.passes < max(1, tr.check.RecoverAfter))
	changed := w.failing[ir.i] != bad
	w.failing[ir.i] = bad
	w.mu.Unlock()
	if changed && w.onTransition != nil {
		w.onTransition(Transition{Check: tr.check.Name, Healthy: !bad, Last: ir.r})
	}
}

// Failing returns the names of the checks currently failing Retries times in
// a row, in spec order. It is safe for concurrent use.
func (w *Watcher) Failing() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var names []string
	for i, bad := range w.failing {
		if bad {
			names = append(names, w.checks[i].Name)
		}
	}
	return names
}
