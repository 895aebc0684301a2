package deploy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
)

// AppStatus is one app as `berth status` shows it. Its JSON form is part of
// berth's stable CLI output.
type AppStatus struct {
	Name      string           `json:"name"`
	Strategy  string           `json:"strategy"`
	Listen    string           `json:"listen,omitempty"`
	Live      string           `json:"live,omitempty"`
	Release   string           `json:"release,omitempty"`
	Paused    string           `json:"paused,omitempty"`
	Stopped   bool             `json:"stopped"`
	Deploying string           `json:"deploying,omitempty"` // what holds the app's lock, e.g. "deployment 17"
	Instances []InstanceStatus `json:"instances"`
	// Canary is the running canary's step and weights, when one runs.
	Canary *CanaryStatus `json:"canary,omitempty"`
	Hosts  []HostStatus  `json:"hosts,omitempty"` // front door hosts of the app
	// Idle is the color kept for rollback whose instances are all stopped:
	// one summary instead of a row per stopped instance.
	Idle *IdleColor `json:"idle,omitempty"`
}

// IdleColor is a stopped color of an app that keeps the release it ran
// (what `berth rollback` starts again).
type IdleColor struct {
	Color     string `json:"color"`
	Release   string `json:"release"`
	Instances int    `json:"instances"`
}

// InstanceStatus is one instance of an app: a color's instance Index
// (0..instances-1) running Release.
type InstanceStatus struct {
	Color   string `json:"color"`
	Index   int    `json:"index"`
	Release string `json:"release"`
	Port    int    `json:"port,omitempty"`
	Live    bool   `json:"live"`
	Warm    bool   `json:"warm"`
	// Serving says the app's proxy sends this instance new requests (it is
	// in the live set): false for a live instance out for failing
	// readiness. Always false for workers.
	Serving bool   `json:"serving,omitempty"`
	Health  string `json:"health"` // "ok", "failing: ...", "starting: ...", "unknown"
	// MonitorRestarts counts the monitor's restarts of this color since its
	// release went live; Restarts includes them.
	MonitorRestarts int `json:"monitor_restarts"`
	runtime.Status
}

// Status reports every app, or only name when it is not "".
func (e *Engine) Status(ctx context.Context, name string) ([]AppStatus, error) {
	var apps []state.App
	if name != "" {
		st, err := e.store.GetApp(name)
		if errors.Is(err, state.ErrNotFound) {
			return nil, ErrUnknownApp
		}
		if err != nil {
			return nil, err
		}
		apps = []state.App{st}
	} else {
		var err error
		if apps, err = e.store.ListApps(); err != nil {
			return nil, err
		}
	}
	out := make([]AppStatus, 0, len(apps))
	for _, st := range apps {
		out = append(out, e.appStatus(ctx, st))
	}
	e.addHosts(ctx, out)
	return out, nil
}

func (e *Engine) appStatus(ctx context.Context, st state.App) AppStatus {
	a, _ := e.specs.parse(st.Name, st.SpecFile, st.Spec)
	s := AppStatus{Name: st.Name, Live: st.Live, Release: st.Colors[st.Live].Release,
		Paused: st.Paused, Stopped: st.Stopped}
	e.mu.Lock()
	s.Deploying = e.busy[st.Name]
	e.mu.Unlock()
	s.Canary = e.canaryStatus(st.Name)
	if a != nil {
		s.Strategy = a.Deploy.Strategy
		if a.Service != nil {
			s.Listen = a.Service.Listen
		}
	}
	colors := make([]string, 0, len(st.Colors))
	for c := range st.Colors {
		colors = append(colors, c)
	}
	sort.Strings(colors)
	restarts := e.monitorRestarts(st)
	serving := e.servingNames(st.Name)
	for _, color := range colors {
		var ins []InstanceStatus
		for _, id := range idsOf(st.Name, st, color) {
			is := e.oneStatus(ctx, st, a, id, restarts, s.Deploying != "")
			is.Serving = serving[id.Slot()]
			ins = append(ins, is)
		}
		if idle := idleColor(st, color, ins); idle != nil {
			s.Idle = idle
			continue
		}
		s.Instances = append(s.Instances, ins...)
	}
	return s
}

// idleColor summarises color when it is neither live nor warm and none of
// its instances runs (the color a rolling or blue-green deploy left
// behind); nil when its instances are worth a row each.
func idleColor(st state.App, color string, ins []InstanceStatus) *IdleColor {
	c := st.Colors[color]
	if color == st.Live || c.Warm {
		return nil
	}
	for _, in := range ins {
		if in.State != runtime.StateStopped {
			return nil
		}
	}
	return &IdleColor{Color: color, Release: c.Release, Instances: len(ins)}
}

// servingNames are the targets app's proxy sends new requests to.
func (e *Engine) servingNames(app string) map[string]bool {
	px, ok := e.px.get(app)
	if !ok {
		return nil
	}
	out := map[string]bool{}
	for _, m := range px.LiveSet() {
		if m.Weight > 0 {
			out[m.Target.Name] = true
		}
	}
	return out
}

// SetMember is one member of an app's live set as its proxy holds it.
// Its JSON form is part of the API (GET /v1/apps/APP/live-set).
type SetMember struct {
	Name   string `json:"name"` // the instance's slot: "blue", "blue.2"
	Addr   string `json:"addr"`
	Weight int    `json:"weight"`
}

// LiveSet returns the members of app's live set as its proxy holds them
// now (none for an app without a [service]), for sampling capacity.
func (e *Engine) LiveSet(app string) ([]SetMember, error) {
	st, err := e.store.GetApp(app)
	if errors.Is(err, state.ErrNotFound) {
		return nil, ErrUnknownApp
	} else if err != nil {
		return nil, err
	}
	out := []SetMember{}
	px, ok := e.px.get(app)
	if !ok {
		if a, err := e.specs.parse(st.Name, st.SpecFile, st.Spec); err == nil && a.Service != nil {
			// Right after a daemon start: the front serves a set this
			// daemon has not taken over yet; [] would be a lie.
			return nil, fmt.Errorf("reading the live set of %s: its proxy is not restored yet", app)
		}
		return out, nil
	}
	for _, m := range px.LiveSet() {
		out = append(out, SetMember{Name: m.Target.Name, Addr: m.Target.Addr, Weight: m.Weight})
	}
	return out, nil
}

func (e *Engine) oneStatus(ctx context.Context, st state.App, a *spec.App, id instance.ID, restarts map[string]int, busy bool) InstanceStatus {
	c := st.Colors[id.Color]
	is := InstanceStatus{Color: id.Color, Index: id.Index, Release: c.Release, Port: st.Ports[id.Slot()],
		Live: id.Color == st.Live, Warm: c.Warm, Health: "unknown"}
	rs, err := e.rt.Status(ctx, id.String())
	if err != nil {
		rs = runtime.Status{ID: id.String(), App: st.Name, State: runtime.StateStopped}
	}
	is.Status = rs
	is.MonitorRestarts = restarts[id.Slot()]
	is.Restarts += is.MonitorRestarts
	if rs.State == runtime.StateRunning {
		is.Health = e.instanceHealth(ctx, st, a, id, rs, busy)
	}
	return is
}

// instanceHealth is a running instance's health for status: what the
// monitor last saw; for a candidate of a running deploy, what its deploy
// last saw (the live spec is not its spec); else one probe with the
// instance's own port, environment and start.
func (e *Engine) instanceHealth(ctx context.Context, st state.App, a *spec.App, id instance.ID, rs runtime.Status, busy bool) string {
	color := id.Color
	c := st.Colors[color]
	if h, ok := e.latestHealth(st.Name, id.Slot(), c.Release); ok {
		return h
	}
	if busy && color != st.Live && !c.Warm {
		if h, ok := e.seen.latest(id.String()); ok {
			return h
		}
		return "starting: its deploy has not run each check yet"
	}
	if a == nil {
		return "unknown"
	}
	t := e.healthTarget(a, id, c.Release, st.Ports[id.Slot()])
	t.Since, t.PID = startedSince(rs), rs.PID
	return probeOnce(ctx, a.Checks, t)
}

// latestHealth is what the monitor last saw of an instance, if it
// watches it: status then answers at once, even for an app whose checks
// hang, and does not probe every instance again on each call.
func (e *Engine) latestHealth(app, color, release string) (string, bool) {
	if e.hs == nil {
		return "", false
	}
	return e.hs.Latest(app, color, release)
}

// probeCap bounds each check of a one-off status probe, so status answers
// quickly; a check that needs longer is reported unknown, not failing.
const probeCap = time.Second

// probeOnce runs each readiness and liveness check once, briefly, for an
// instance the monitor does not watch (yet).
func probeOnce(ctx context.Context, checks []spec.Check, t health.Target) string {
	n := 0
	for _, c := range checks {
		if c.Role != spec.RoleReadiness && c.Role != spec.RoleLiveness {
			continue
		}
		n++
		capped := c.Timeout.Duration > probeCap
		if capped {
			c.Timeout.Duration = probeCap
		}
		r := health.NewProbe(c, t).Probe(ctx)
		switch {
		case r.OK:
		// The probe's clock starts after the deadline's, so a cut probe
		// can measure a little under the cap.
		case capped && r.Duration >= probeCap*9/10:
			return fmt.Sprintf("unknown: %s (%s) did not answer within %s", c.Name, c.Role, probeCap)
		default:
			return "failing: " + c.Name + " (" + c.Role + "): " + r.Err
		}
	}
	if n == 0 {
		return "no checks"
	}
	return "ok"
}

// monitorRestarts counts the monitor's restarts of each color since that
// color's release went live, from the event journal: the keeper's restart
// count starts again at each start, so it misses them.
func (e *Engine) monitorRestarts(st state.App) map[string]int {
	out := map[string]int{}
	evs, err := e.store.TailEvents(st.Name, 500)
	if err != nil {
		return out
	}
	for _, ev := range evs {
		if ev.Kind != "monitor.restart" {
			continue
		}
		color, _, _ := strings.Cut(ev.Message, ":")
		// A color not yet live (zero StartedAt) has had no monitor restart.
		if c, ok := st.Colors[color]; ok && !c.StartedAt.IsZero() && !ev.Time.Before(c.StartedAt) {
			out[color]++
		}
	}
	return out
}
