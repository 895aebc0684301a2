package deploy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/monitor"
	"github.com/berth-dev/berth/internal/release"
	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
	"github.com/berth-dev/berth/internal/sysuser"
)

// The engine is the monitor's source of targets and its hands.
var (
	_ monitor.Source  = (*Engine)(nil)
	_ monitor.Actions = (*Engine)(nil)
)

// Targets lists the running live and warm instances of every app that is
// not being deployed (a deploy verifies its own instances).
func (e *Engine) Targets(ctx context.Context) []monitor.Target {
	apps, err := e.store.ListApps()
	if err != nil {
		e.log.Error("listing apps for the monitor", "err", err)
		return nil
	}
	var out []monitor.Target
	for _, st := range apps {
		e.mu.Lock()
		_, busy := e.busy[st.Name]
		e.mu.Unlock()
		if busy || st.Stopped || st.Live == "" {
			continue
		}
		a, err := e.specs.parse(st.Name, st.SpecFile, st.Spec)
		if err != nil {
			continue
		}
		for color, c := range st.Colors {
			if color != st.Live && !c.Warm {
				continue
			}
			for _, id := range idsOf(st.Name, st, color) {
				s, err := e.rt.Status(ctx, id.String())
				if err != nil || s.State != runtime.StateRunning {
					continue
				}
				t := e.healthTarget(a, id, c.Release, st.Ports[id.Slot()])
				t.Since, t.PID = startedSince(s), s.PID
				// The monitor names an instance by its slot: "blue.2".
				out = append(out, monitor.Target{App: st.Name, Color: id.Slot(), Release: c.Release, Live: color == st.Live,
					Out: color == st.Live && e.pool.isOut(st.Name, id.Slot(), c.Release), Checks: a.Checks, Health: t})
			}
		}
	}
	return out
}

// startSlack covers the runtime stamping a start just after the spawn: a
// beat printed at once may precede the stamp. It is far below the keeper's
// least restart delay (1s), so a predecessor's last beat never falls in it.
const startSlack = 250 * time.Millisecond

// startedSince is the oldest heartbeat that counts for a running instance.
func startedSince(s runtime.Status) time.Time {
	if s.StartedAt.IsZero() {
		return time.Time{}
	}
	return s.StartedAt.Add(-startSlack)
}

// healthTarget is what a running instance's checks probe, built without
// touching the host (no user creation, no directories).
func (e *Engine) healthTarget(a *spec.App, id instance.ID, relID string, port int) health.Target {
	rel := release.Release{ID: relID, Dir: filepath.Join(e.home.AppDir(a.Name), "releases", relID)}
	t := health.Target{Host: "127.0.0.1", Port: port, Dir: rel.Dir, Env: e.environ(a, id, rel, port),
		Shared: e.home.SharedDir(a.Name), LogPath: e.home.LogFile(a.Name, id.Slot()), Color: id.Slot()}
	t.Exec = execIn(e.rt, id.String(), a.Run.Runtime)
	if acct, err := sysuser.ForAppLookup(a.Name, a.Run.User); err == nil && acct.UID != 0 && t.Exec == nil {
		t.Cred = &syscall.Credential{Uid: acct.UID, Gid: acct.GID, Groups: []uint32{}}
	}
	return t
}

// runningTarget is healthTarget for an instance that may be running, with
// its start and pid from the runtime when it is.
func (e *Engine) runningTarget(ctx context.Context, a *spec.App, st state.App, color string) health.Target {
	c := st.Colors[color]
	t := e.healthTarget(a, instance.New(a.Name, color, 0), c.Release, st.Ports[color])
	if s, err := e.rt.Status(ctx, c.Instance); err == nil && s.State == runtime.StateRunning {
		t.Since, t.PID = startedSince(s), s.PID
	}
	return t
}

// RestartInstance restarts one instance for the monitor. A live color of a
// blue-green app is restarted without downtime: its release is deployed to
// the idle color, verified, and switched to.
//
// color is the monitor's name of the instance, its slot ("blue",
// "blue.2"). An instance of a color that runs several is restarted alone:
// the others serve meanwhile, and the proxy sends what it refuses to them.
func (e *Engine) RestartInstance(ctx context.Context, app, slot, reason string) error {
	st, a, err := e.app(app)
	if err != nil {
		return err
	}
	id, err := instance.ParseSlot(app, slot)
	if err != nil {
		return err
	}
	color := id.Color
	e.event(app, "monitor.restart", slot+": "+reason)
	if color == st.Live && st.Colors[color].Count() == 1 && a.Service != nil && a.Deploy.Strategy == spec.StrategyBlueGreen {
		_, err := e.Restart(ctx, app, "berth (monitor)", nil)
		return err
	}
	unlock, err := e.lock(app, "restart of "+slot+" by the monitor")
	if err != nil {
		return err
	}
	defer unlock()
	c := st.Colors[color]
	if px, ok := e.px.get(app); ok && color == st.Live && c.Count() > 1 {
		return e.restartInSet(ctx, px, st, a, id)
	}
	inst, err := e.previousInstance(ctx, st.Spec, st.SpecFile, id, c.Release, st.Ports[slot])
	if err != nil {
		return err
	}
	if _, err := e.rt.Stop(ctx, inst.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return err
	}
	_, err = e.rt.Start(ctx, inst)
	return err
}

// FailOver moves traffic from a failing live color to the warm one, when
// it runs and passes its checks; otherwise it only says why it cannot.
// An instance of a live color that runs several leaves the live set
// instead, until Readmit; the last ones serving stay (see serving).
func (e *Engine) FailOver(ctx context.Context, app, slot, reason string) error {
	st, a, err := e.app(app)
	if err != nil {
		return err
	}
	id, err := instance.ParseSlot(app, slot)
	if err != nil || id.Color != st.Live {
		return err
	}
	color := id.Color
	if st.Colors[color].Count() > 1 {
		return e.setServing(ctx, app, slot, reason, true)
	}
	warm, ok := st.Colors[other(color)]
	if !ok || !warm.Warm {
		e.event(app, "monitor.failover.skipped", "no warm instance to move traffic to: "+reason)
		return nil
	}
	t := e.runningTarget(ctx, a, st, other(color))
	if msg := probeOnce(ctx, a.Checks, t); msg != "ok" && msg != "no checks" {
		e.event(app, "monitor.failover.skipped", "the warm instance is not healthy either ("+msg+"): "+reason)
		return nil
	}
	_, done, err := e.instantRollback(ctx, st, warm.Release, "berth (monitor)", "readiness failed: "+reason, nil)
	if !done && err == nil {
		err = fmt.Errorf("the warm instance of %s is not running", app)
	}
	return err
}

// lastGood is the release of the newest deployment that went live.
func (e *Engine) lastGood(app string) string {
	ds, err := e.store.ListDeployments(app, 50)
	if err != nil {
		return ""
	}
	for _, d := range ds {
		if d.Outcome == state.OutcomeSucceeded {
			return d.Release
		}
	}
	return ""
}

// CheckApp runs the live instance's functional checks once (its readiness
// and liveness checks when it has none), for `berth check app` from cron or
// a timer: a second opinion next to the monitor.
func (e *Engine) CheckApp(ctx context.Context, name string) ([]health.Result, error) {
	st, a, err := e.app(name)
	if err != nil {
		return nil, err
	}
	if st.Live == "" || st.Stopped {
		return nil, fmt.Errorf("%s has no live instance to check", name)
	}
	var checks []spec.Check
	for _, c := range a.Checks {
		if c.Role == spec.RoleFunctional {
			checks = append(checks, c)
		}
	}
	if len(checks) == 0 {
		for _, c := range a.Checks {
			if c.Role == spec.RoleReadiness || c.Role == spec.RoleLiveness {
				checks = append(checks, c)
			}
		}
	}
	t := e.runningTarget(ctx, a, st, st.Live)
	record := e.checkRecorder(a, st.Live)
	out := make([]health.Result, 0, len(checks))
	for _, c := range checks {
		r := health.NewProbe(c, t).Probe(ctx)
		record(r)
		out = append(out, r)
	}
	return out, nil
}
