package health

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/spec"
)

// alivePoll is how often WaitHealthy asks whether the instance still runs.
const alivePoll = 100 * time.Millisecond

// WaitHealthy gates a new instance: it returns nil once the instance may
// take traffic, or an error saying why not.
//
// Startup checks run first, until each has passed once. Then every readiness
// and liveness check must pass healthyAfter consecutive times (values below
// 1 mean 1), all at once. Functional checks are not part of the gate. With no
// gate checks at all, the gate is a TCP connect to t.Port, or nothing when
// t.Port is 0. Start periods count from the call.
//
// It returns an error wrapping ErrUnhealthy, naming the check and its last
// failure, when a check fails Retries times in a row; an error wrapping
// ErrInstanceExited and alive's error as soon as alive (may be nil) reports
// one; or ctx's error when ctx ends first. onResult (may be nil) sees every
// result, from one goroutine at a time. WaitHealthy is safe for concurrent
// use; calls share nothing.
func WaitHealthy(ctx context.Context, checks []spec.Check, t Target, healthyAfter int, alive func() error, onResult func(Result)) error {
	var startup, ready []spec.Check
	for _, c := range checks {
		c = normalize(c)
		switch c.Role {
		case spec.RoleStartup:
			startup = append(startup, c)
		case spec.RoleFunctional:
		default:
			ready = append(ready, c)
		}
	}
	if len(startup) == 0 && len(ready) == 0 {
		if t.Port == 0 {
			return checkAlive(alive)
		}
		ready = []spec.Check{listenCheck()}
	}
	client := newHTTPClient()
	defer client.CloseIdleConnections()
	g := gate{target: t, started: time.Now(), client: client, alive: alive, onResult: onResult}
	if err := g.phase(ctx, "startup", startup, 1, true); err != nil {
		return err
	}
	return g.phase(ctx, "readiness and liveness", ready, max(1, healthyAfter), false)
}

// gate holds what both phases of WaitHealthy share.
type gate struct {
	target   Target
	started  time.Time
	client   *http.Client
	alive    func() error
	onResult func(Result)
}

// phase probes checks until each has passed need times in a row. With
// sticky, a check that got there is done for good (startup); otherwise all
// must be there at the same moment (readiness).
func (g *gate) phase(ctx context.Context, name string, checks []spec.Check, need int, sticky bool) error {
	if len(checks) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	grp := startGroup(ctx, checks, g.target, g.client)
	defer grp.wait()
	defer cancel()

	trackers := make([]*tracker, len(checks))
	for i, c := range checks {
		trackers[i] = newTracker(c, g.started)
	}
	done := make([]bool, len(checks))
	tick := time.NewTicker(alivePoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s checks (%s): %w", name, g.pending(trackers, done), ctx.Err())
		case <-tick.C:
			if err := checkAlive(g.alive); err != nil {
				return err
			}
		case ir := <-grp.results:
			if g.onResult != nil {
				g.onResult(ir.r)
			}
			tr := trackers[ir.i]
			tr.observe(ir.r)
			if tr.unhealthy() {
				// A crash explains the failures better than they do.
				if err := checkAlive(g.alive); err != nil {
					return err
				}
				msg := ir.r.Err
				if hint := portHint(g.target, tr.check, msg); hint != "" {
					msg += ": " + hint
				}
				return fmt.Errorf("%w: %s check %q failed %d times in a row: %s",
					ErrUnhealthy, tr.check.Role, tr.check.Name, tr.fails, msg)
			}
			if allDone(trackers, done, need, sticky) {
				return nil
			}
		}
	}
}

// allDone updates done and reports whether every check has reached need.
func allDone(trackers []*tracker, done []bool, need int, sticky bool) bool {
	all := true
	for i, tr := range trackers {
		ok := tr.passes >= need
		if sticky {
			ok = ok || done[i]
		}
		done[i] = ok
		all = all && ok
	}
	return all
}

// pending describes the checks that have not passed yet, for a timeout error.
func (g *gate) pending(trackers []*tracker, done []bool) string {
	var parts []string
	for i, tr := range trackers {
		if done[i] {
			continue
		}
		last := tr.last.Err
		switch {
		case tr.last.At.IsZero():
			last = "not probed yet"
		case tr.last.OK:
			last = fmt.Sprintf("%d passes in a row", tr.passes)
		default:
			if hint := portHint(g.target, tr.check, last); hint != "" {
				last += ": " + hint
			}
		}
		parts = append(parts, fmt.Sprintf("%s %q: %s", tr.check.Role, tr.check.Name, last))
	}
	return strings.Join(parts, "; ")
}

func checkAlive(alive func() error) error {
	if alive == nil {
		return nil
	}
	if err := alive(); err != nil {
		return fmt.Errorf("%w: %w", ErrInstanceExited, err)
	}
	return nil
}
