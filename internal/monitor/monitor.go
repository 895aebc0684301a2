// Package monitor keeps verifying running agents after their deploy: it
// runs each instance's checks on their schedules for as long as it runs and
// acts on what they find, by role (liveness: restart; readiness: move
// traffic to another healthy instance; functional: the check's on_failure),
// with damping so a flapping agent raises one alert, not a storm.
//
// A Monitor is safe for concurrent use.
package monitor

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/spec"
)

// Target is one running instance to watch.
type Target struct {
	App, Color string
	Release    string
	Live       bool
	// Out says the instance is out of its live set for failing readiness:
	// its watcher starts with readiness failing, so its next passes report
	// the recovery that puts it back (Actions.Readmit).
	Out    bool
	Checks []spec.Check
	Health health.Target
}

func (t Target) key() string { return t.App + "." + t.Color + "@" + t.Release }

// Source lists what should be watched now: the deploy engine's live and warm
// instances, minus apps in the middle of a deploy (the deploy verifies
// those itself).
type Source interface {
	Targets(ctx context.Context) []Target
}

// Actions are what the monitor may do about a failing check.
type Actions interface {
	// RestartInstance restarts one instance (liveness, on_failure=restart).
	RestartInstance(ctx context.Context, app, color, reason string) error
	// FailOver moves the app's traffic away from color to another healthy
	// instance, if it has one (readiness, on_failure=rollback).
	FailOver(ctx context.Context, app, color, reason string) error
	// Readmit tells that color passes readiness again after a failure:
	// an instance FailOver took out of its live set goes back in.
	Readmit(ctx context.Context, app, color string) error
}

// Alerter fires and resolves alerts; firing the same key twice must send one.
type Alerter interface {
	Fire(key, severity, app, summary string, details map[string]string)
	Resolve(key string)
}

// Recorder sees every probe result (metrics); may be nil.
type Recorder interface {
	CheckResult(app, color, check, role string, ok bool, took time.Duration)
}

// Config holds a Monitor's dependencies.
type Config struct {
	Source   Source
	Actions  Actions
	Alerts   Alerter
	Recorder Recorder
	Logger   *slog.Logger
	// Every is how often the set of targets is reconciled; default 2s.
	Every time.Duration
}

// Monitor watches every target Source reports.
type Monitor struct {
	cfg Config

	mu       sync.Mutex
	watching map[string]*watched // by Target.key
	damp     map[string]*damper  // by app.color, survives watcher restarts
	paused   map[string]bool     // apps whose checks are paused (PauseChecks)
}

// New returns a Monitor; Run runs it.
func New(cfg Config) *Monitor {
	if cfg.Every <= 0 {
		cfg.Every = 2 * time.Second
	}
	return &Monitor{cfg: cfg, watching: map[string]*watched{}, damp: map[string]*damper{}, paused: map[string]bool{}}
}

// Run reconciles the watched set with Source until ctx ends, then stops
// every watcher and waits for them.
func (m *Monitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.Every)
	defer t.Stop()
	for {
		m.reconcile(ctx, m.cfg.Source.Targets(ctx))
		select {
		case <-ctx.Done():
			m.reconcile(ctx, nil)
			return nil
		case <-t.C:
		}
	}
}

// PauseChecks stops (on) or resumes (off) the checks of app's instances,
// and with them the actions they take, from the next reconcile on (within
// Config.Every). The pause lasts until resumed or the daemon restarts.
func (m *Monitor) PauseChecks(app string, on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if on {
		m.paused[app] = true
	} else {
		delete(m.paused, app)
	}
}

// ChecksPaused reports whether app's checks are paused by PauseChecks.
func (m *Monitor) ChecksPaused(app string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.paused[app]
}

func (m *Monitor) reconcile(ctx context.Context, targets []Target) {
	m.mu.Lock()
	want := map[string]Target{}
	for _, t := range targets {
		if !m.paused[t.App] {
			want[t.key()] = t
		}
	}
	var stop []*watched
	for k, w := range m.watching {
		// A new start of the same release (a restart) is a new instance:
		// its heartbeats count from its start, its start period again.
		if nt, ok := want[k]; !ok || nt.Live != w.target.Live || !nt.Health.Since.Equal(w.target.Health.Since) {
			stop = append(stop, w)
			delete(m.watching, k)
		}
	}
	for k, t := range want {
		if _, ok := m.watching[k]; ok || ctx.Err() != nil {
			continue
		}
		m.watching[k] = m.start(ctx, t)
	}
	m.mu.Unlock()
	for _, w := range stop {
		w.stop()
	}
}

// Health is the latest result of each check of an instance, for status.
type Health struct {
	App, Color string
	Results    []health.Result // one per check, sorted by name
	Failing    []string
}

// Latest reports an instance's health from the latest result of each of
// its readiness and liveness checks, as `berth status` shows it (see
// health.Summary). It reports false while the monitor does not watch that
// instance or has not run each such check yet.
func (m *Monitor) Latest(app, color, release string) (string, bool) {
	m.mu.Lock()
	wd := m.watching[Target{App: app, Color: color, Release: release}.key()]
	m.mu.Unlock()
	if wd == nil {
		return "", false
	}
	return wd.latest()
}

// Snapshot reports what the monitor knows now, for `berth status` and `berth why`.
func (m *Monitor) Snapshot() []Health {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Health, 0, len(m.watching))
	for _, w := range m.watching {
		out = append(out, w.health())
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].App+out[i].Color < out[j].App+out[j].Color
	})
	return out
}
