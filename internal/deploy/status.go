package deploy

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"time"

	"github.com/berth-dev/berth/internal/health"
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
}

// InstanceStatus is one color of an app.
type InstanceStatus struct {
	Color   string `json:"color"`
	Release string `json:"release"`
	Port    int    `json:"port,omitempty"`
	Live    bool   `json:"live"`
	Warm    bool   `json:"warm"`
	Health  string `json:"health"` // "ok", "failing: ...", "unknown"
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
	return out, nil
}

func (e *Engine) appStatus(ctx context.Context, st state.App) AppStatus {
	a, _ := spec.Parse(st.SpecFile, st.Spec)
	s := AppStatus{Name: st.Name, Live: st.Live, Release: st.Colors[st.Live].Release,
		Paused: st.Paused, Stopped: st.Stopped}
	e.mu.Lock()
	s.Deploying = e.busy[st.Name]
	e.mu.Unlock()
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
	for _, color := range colors {
		c := st.Colors[color]
		is := InstanceStatus{Color: color, Release: c.Release, Port: st.Ports[color],
			Live: color == st.Live, Warm: c.Warm, Health: "unknown"}
		rs, err := e.rt.Status(ctx, c.Instance)
		if err != nil {
			rs = runtime.Status{ID: c.Instance, App: st.Name, State: runtime.StateStopped}
		}
		is.Status = rs
		if a != nil && rs.State == runtime.StateRunning {
			if h, ok := e.latestHealth(st.Name, color, c.Release); ok {
				is.Health = h
			} else {
				is.Health = probeOnce(ctx, a.Checks, health.Target{Host: "127.0.0.1", Port: is.Port, Dir: filepath.Join(e.home.AppDir(st.Name), "releases", c.Release)})
			}
		}
		s.Instances = append(s.Instances, is)
	}
	return s
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

// probeOnce runs each readiness and liveness check once, briefly, for an
// instance the monitor does not watch (yet).
func probeOnce(ctx context.Context, checks []spec.Check, t health.Target) string {
	n := 0
	for _, c := range checks {
		if c.Role != spec.RoleReadiness && c.Role != spec.RoleLiveness {
			continue
		}
		n++
		if c.Timeout.Duration > time.Second {
			c.Timeout.Duration = time.Second
		}
		if r := health.NewProbe(c, t).Probe(ctx); !r.OK {
			return "failing: " + c.Name + ": " + r.Err
		}
	}
	if n == 0 {
		return "no checks"
	}
	return "ok"
}
