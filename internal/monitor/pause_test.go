package monitor

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/spec"
)

// Paused checks probe nothing and act on nothing; resumed, they run again.
func TestPauseChecks(t *testing.T) {
	t.Parallel()
	var probes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		probes.Add(1)
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	check := spec.Check{Name: "up", Type: spec.CheckHTTP, Role: spec.RoleLiveness, Path: "/", ExpectStatus: 200,
		Interval: spec.Duration{Duration: 10 * time.Millisecond}, Timeout: spec.Duration{Duration: time.Second}, Retries: 1}
	rec := &recorder{fired: map[string]int{}, resolved: map[string]int{},
		targets: []Target{{App: "a", Color: "blue", Release: "r1", Live: true, Checks: []spec.Check{check},
			Health: health.Target{Host: "127.0.0.1", Port: p}}}}
	m := New(Config{Source: rec, Actions: rec, Alerts: rec, Every: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "a probe", func() bool { return probes.Load() > 0 })
	m.PauseChecks("a", true)
	if !m.ChecksPaused("a") || m.ChecksPaused("b") {
		t.Fatalf("ChecksPaused: a=%v b=%v, want true false", m.ChecksPaused("a"), m.ChecksPaused("b"))
	}
	waitFor(t, "the watcher to stop", func() bool { return len(m.Snapshot()) == 0 })
	// A probe in flight when the watcher stopped may still land.
	time.Sleep(50 * time.Millisecond)
	before := probes.Load()
	time.Sleep(200 * time.Millisecond)
	if n := probes.Load() - before; n != 0 {
		t.Errorf("%d probes while paused, want 0", n)
	}
	m.PauseChecks("a", false)
	waitFor(t, "probes again", func() bool { return probes.Load() > before })
}
