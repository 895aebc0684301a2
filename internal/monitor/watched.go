package monitor

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/spec"
)

// watched is one instance's watcher and what it last saw.
type watched struct {
	target Target
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	last map[string]health.Result
	w    *health.Watcher
}

func (m *Monitor) start(ctx context.Context, t Target) *watched {
	wctx, cancel := context.WithCancel(ctx)
	wd := &watched{target: t, cancel: cancel, done: make(chan struct{}), last: map[string]health.Result{}}
	roles := map[string]spec.Check{}
	for _, c := range t.Checks {
		roles[c.Name] = c
	}
	wd.w = health.NewWatcher(watchable(t.Checks), t.Health, func(r health.Result) {
		wd.mu.Lock()
		wd.last[r.Check] = r
		wd.mu.Unlock()
		if m.cfg.Recorder != nil {
			m.cfg.Recorder.CheckResult(t.App, t.Color, r.Check, roles[r.Check].Role, r.OK, r.Duration)
		}
	})
	if t.Out {
		wd.w.StartFailing(spec.RoleReadiness)
	}
	wd.w.OnTransition(func(tr health.Transition) {
		// Act outside the watcher's goroutine: an action may take seconds.
		go m.transition(wctx, t, roles[tr.Check], tr)
	})
	go func() {
		defer close(wd.done)
		_ = wd.w.Run(wctx)
	}()
	return wd
}

func (wd *watched) stop() {
	wd.cancel()
	<-wd.done
}

func (wd *watched) health() Health {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	h := Health{App: wd.target.App, Color: wd.target.Color, Failing: wd.w.Failing()}
	for _, r := range wd.last {
		h.Results = append(h.Results, r)
	}
	sort.Slice(h.Results, func(i, j int) bool { return h.Results[i].Check < h.Results[j].Check })
	return h
}

func (wd *watched) latest() (string, bool) {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	return health.Summary(wd.target.Checks, wd.last)
}

// watchable are the checks that run continuously: all but startup checks,
// which only gate an instance's start.
func watchable(all []spec.Check) []spec.Check {
	var out []spec.Check
	for _, c := range all {
		if c.Role != spec.RoleStartup {
			out = append(out, c)
		}
	}
	return out
}

// transition acts on one check becoming unhealthy or recovering.
func (m *Monitor) transition(ctx context.Context, t Target, c spec.Check, tr health.Transition) {
	key := fmt.Sprintf("health.%s.%s.%s", t.App, t.Color, tr.Check)
	if tr.Healthy {
		m.cfg.Alerts.Resolve(key)
		m.damper(t).recovered(time.Now())
		if c.Role == spec.RoleReadiness && t.Live {
			if err := m.cfg.Actions.Readmit(ctx, t.App, t.Color); err != nil && ctx.Err() == nil {
				m.cfg.Logger.Warn("readmitting a recovered instance", "app", t.App, "color", t.Color, "err", err)
			}
		}
		return
	}
	details := map[string]string{"check": tr.Check, "role": c.Role, "error": tr.Last.Err, "release": t.Release}
	summary := fmt.Sprintf("%s (%s) on %s.%s failing: %s", tr.Check, c.Role, t.App, t.Color, tr.Last.Err)
	m.cfg.Alerts.Fire(key, "warning", t.App, summary, details)
	action := c.OnFailure
	switch c.Role {
	case spec.RoleLiveness:
		action = spec.OnFailureRestart
	case spec.RoleReadiness:
		if action == "" {
			action = spec.OnFailureRollback // "stop sending it traffic" = fail over
		}
	}
	m.act(ctx, t, action, summary)
}

func (m *Monitor) act(ctx context.Context, t Target, action, reason string) {
	var err error
	switch action {
	case spec.OnFailureRestart:
		d := m.damper(t)
		if wait := d.allow(time.Now()); wait > 0 {
			m.cfg.Logger.Info("restart damped", "app", t.App, "color", t.Color, "next_in", wait)
			return
		}
		err = m.cfg.Actions.RestartInstance(ctx, t.App, t.Color, reason)
	case spec.OnFailureRollback:
		if t.Live {
			err = m.cfg.Actions.FailOver(ctx, t.App, t.Color, reason)
		}
	}
	if err != nil && ctx.Err() == nil {
		m.cfg.Logger.Warn("acting on a failing check", "app", t.App, "color", t.Color, "action", action, "err", err)
	}
}

func (m *Monitor) damper(t Target) *damper {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := t.App + "." + t.Color
	d, ok := m.damp[k]
	if !ok {
		d = &damper{}
		m.damp[k] = d
	}
	return d
}
