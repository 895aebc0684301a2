package monitor

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/spec"
)

// An instance started again (same app, color and release, a new start) is
// watched afresh: a heartbeat its predecessor left no longer passes.
func TestRestartedInstanceIsWatchedFromItsStart(t *testing.T) {
	t.Parallel()
	shared := t.TempDir()
	if err := os.WriteFile(filepath.Join(shared, "beat.blue"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d := func(v time.Duration) spec.Duration { return spec.Duration{Duration: v} }
	check := spec.Check{Name: "progress", Type: spec.CheckHeartbeat, Role: spec.RoleLiveness, File: "beat",
		Within: d(time.Minute), Interval: d(20 * time.Millisecond), Timeout: d(time.Second), Retries: 1}
	target := func(since time.Time) Target {
		return Target{App: "w", Color: "blue", Release: "r1", Live: true, Checks: []spec.Check{check},
			Health: health.Target{Shared: shared, Color: "blue", Since: since}}
	}
	rec := &recorder{fired: map[string]int{}, resolved: map[string]int{},
		targets: []Target{target(time.Now().Add(-time.Hour))}}
	m := New(Config{Source: rec, Actions: rec, Alerts: rec, Every: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "the first instance ok", func() bool { h, ok := m.Latest("w", "blue", "r1"); return ok && h == "ok" })
	rec.mu.Lock()
	rec.targets = []Target{target(time.Now().Add(time.Second))} // restarted after the last beat
	rec.mu.Unlock()
	waitFor(t, "the restarted instance judged on its own beats", func() bool {
		h, ok := m.Latest("w", "blue", "r1")
		return ok && strings.Contains(h, "not touched since the instance started")
	})
}
