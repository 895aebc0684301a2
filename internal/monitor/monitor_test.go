package monitor

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/spec"
)

// recorder stands in for the deploy engine and the alert dispatcher: both
// are plain calls here, and the test asserts what the monitor asked for.
type recorder struct {
	mu       sync.Mutex
	restarts []string
	failover []string
	readmit  []string
	fired    map[string]int
	resolved map[string]int
	targets  []Target
}

func (r *recorder) Targets(context.Context) []Target {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Target(nil), r.targets...)
}

func (r *recorder) RestartInstance(_ context.Context, app, color, _ string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.restarts = append(r.restarts, app+"."+color)
	return nil
}

func (r *recorder) FailOver(_ context.Context, app, color, _ string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failover = append(r.failover, app+"."+color)
	return nil
}

func (r *recorder) Readmit(_ context.Context, app, color string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.readmit = append(r.readmit, app+"."+color)
	return nil
}

func (r *recorder) Fire(key, _, _, _ string, _ map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fired[key]++
}

func (r *recorder) Resolve(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resolved[key]++
}

func (r *recorder) count(f func() int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return f()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMonitorActsByRole(t *testing.T) {
	t.Parallel()
	d := func(s string) spec.Duration { v, _ := time.ParseDuration(s); return spec.Duration{Duration: v} }
	tests := []struct {
		name        string
		role        string
		live        bool
		wantRestart bool
		wantFail    bool
		wantReadmit bool
	}{
		{name: "liveness restarts", role: spec.RoleLiveness, live: true, wantRestart: true},
		{name: "readiness fails over when live, readmits when it passes", role: spec.RoleReadiness, live: true, wantFail: true, wantReadmit: true},
		{name: "readiness of a warm instance only alerts", role: spec.RoleReadiness, live: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var bad atomic.Bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if bad.Load() {
					w.WriteHeader(500)
				}
				io.WriteString(w, "ok")
			}))
			defer srv.Close()
			_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
			p, _ := strconv.Atoi(port)
			check := spec.Check{Name: "up", Type: spec.CheckHTTP, Role: tc.role, Path: "/", ExpectStatus: 200,
				Interval: d("20ms"), Timeout: d("1s"), Retries: 2, StartPeriod: d("0s")}
			rec := &recorder{fired: map[string]int{}, resolved: map[string]int{},
				targets: []Target{{App: "a", Color: "blue", Release: "r1", Live: tc.live, Checks: []spec.Check{check},
					Health: health.Target{Host: "127.0.0.1", Port: p}}}}
			m := New(Config{Source: rec, Actions: rec, Alerts: rec, Every: 20 * time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _ = m.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()

			waitFor(t, "a healthy result", func() bool {
				s := m.Snapshot()
				return len(s) == 1 && len(s[0].Results) == 1 && s[0].Results[0].OK
			})
			bad.Store(true)
			key := "health.a.blue.up"
			waitFor(t, "the alert", func() bool { return rec.count(func() int { return rec.fired[key] }) == 1 })
			bad.Store(false)
			waitFor(t, "the resolve", func() bool { return rec.count(func() int { return rec.resolved[key] }) == 1 })
			if got := rec.count(func() int { return len(rec.restarts) }); (got == 1) != tc.wantRestart {
				t.Errorf("restarts = %d, want restart %v", got, tc.wantRestart)
			}
			if got := rec.count(func() int { return len(rec.failover) }); (got == 1) != tc.wantFail {
				t.Errorf("failovers = %d, want failover %v", got, tc.wantFail)
			}
			if tc.wantReadmit {
				waitFor(t, "the readmit", func() bool { return rec.count(func() int { return len(rec.readmit) }) == 1 })
			} else if got := rec.count(func() int { return len(rec.readmit) }); got != 0 {
				t.Errorf("readmits = %d, want none", got)
			}
		})
	}
}

// Latest is what `berth status` shows: unknown until every readiness and
// liveness check ran, then the latest results, first failure first.
func TestLatestForStatus(t *testing.T) {
	t.Parallel()
	d := func(s string) spec.Duration { v, _ := time.ParseDuration(s); return spec.Duration{Duration: v} }
	var bad atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if bad.Load() && r.URL.Path == "/ready" {
			w.WriteHeader(503)
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	check := func(name, role, path string) spec.Check {
		return spec.Check{Name: name, Type: spec.CheckHTTP, Role: role, Path: path, ExpectStatus: 200,
			Interval: d("20ms"), Timeout: d("1s"), Retries: 1, StartPeriod: d("0s")}
	}
	rec := &recorder{fired: map[string]int{}, resolved: map[string]int{},
		targets: []Target{{App: "a", Color: "green", Release: "r2", Live: false,
			Checks: []spec.Check{check("alive", spec.RoleLiveness, "/alive"), check("ready", spec.RoleReadiness, "/ready")},
			Health: health.Target{Host: "127.0.0.1", Port: p}}}}
	m := New(Config{Source: rec, Actions: rec, Alerts: rec, Every: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if _, ok := m.Latest("a", "green", "r2"); ok {
		t.Fatal("Latest knows an instance the monitor does not watch yet")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "ok", func() bool { h, ok := m.Latest("a", "green", "r2"); return ok && h == "ok" })
	bad.Store(true)
	waitFor(t, "the failing readiness check", func() bool {
		h, ok := m.Latest("a", "green", "r2")
		return ok && strings.HasPrefix(h, "failing: ready (readiness): ") && strings.Contains(h, "503")
	})
	if _, ok := m.Latest("a", "green", "r1"); ok {
		t.Error("Latest answers for a release the monitor does not watch")
	}
}

// An instance the engine holds out of its live set is readmitted at its
// first passing readiness probe, though the monitor never saw it fail:
// the watcher of a restarted instance (or daemon) starts from "failing".
func TestMonitorReadmitsAnInstanceHeldOut(t *testing.T) {
	t.Parallel()
	d := func(s string) spec.Duration { v, _ := time.ParseDuration(s); return spec.Duration{Duration: v} }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	check := spec.Check{Name: "up", Type: spec.CheckHTTP, Role: spec.RoleReadiness, Path: "/", ExpectStatus: 200,
		Interval: d("20ms"), Timeout: d("1s"), Retries: 2, StartPeriod: d("0s")}
	rec := &recorder{fired: map[string]int{}, resolved: map[string]int{},
		targets: []Target{{App: "a", Color: "blue.1", Release: "r1", Live: true, Out: true, Checks: []spec.Check{check},
			Health: health.Target{Host: "127.0.0.1", Port: p}}}}
	m := New(Config{Source: rec, Actions: rec, Alerts: rec, Every: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "the readmit", func() bool { return rec.count(func() int { return len(rec.readmit) }) == 1 })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.readmit) != 1 || rec.readmit[0] != "a.blue.1" {
		t.Errorf("readmits = %v, want [a.blue.1]", rec.readmit)
	}
}
