package health

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/spec"
)

func TestWatcherReportsFailure(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	target := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "broken", http.StatusBadGateway)
		}
	})
	checks := []spec.Check{
		{Name: "api", Type: "http", Interval: dur(10 * time.Millisecond), Retries: 2, StartPeriod: dur(time.Hour)},
		{Name: "port", Type: "tcp", Interval: dur(10 * time.Millisecond)},
	}
	var seen atomic.Int64
	w := NewWatcher(checks, target, func(Result) { seen.Add(1) })
	var mu sync.Mutex
	var transitions []Transition
	w.OnTransition(func(tr Transition) {
		mu.Lock()
		defer mu.Unlock()
		transitions = append(transitions, tr)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- w.Run(ctx) }()

	waitFor(t, "first results", func() bool { return seen.Load() >= 4 })
	if got := w.Failing(); len(got) != 0 {
		t.Fatalf("Failing() = %v while healthy", got)
	}
	down.Store(true)
	waitFor(t, "api to be failing", func() bool { return cmp.Equal(w.Failing(), []string{"api"}) })
	down.Store(false)
	waitFor(t, "api to recover", func() bool { return len(w.Failing()) == 0 })

	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := w.Run(context.Background()); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("second Run = %v, want ErrAlreadyRunning", err)
	}
	mu.Lock()
	defer mu.Unlock()
	var got []bool
	for _, tr := range transitions {
		if tr.Check != "api" {
			t.Errorf("transition for %q, want only api", tr.Check)
		}
		got = append(got, tr.Healthy)
	}
	if diff := cmp.Diff([]bool{false, true}, got); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
}

// A watcher told that an instance already fails its readiness reports the
// recovery at its first pass, and nothing for its liveness check.
func TestWatcherStartFailingReportsRecovery(t *testing.T) {
	t.Parallel()
	target := serve(t, func(http.ResponseWriter, *http.Request) {})
	checks := []spec.Check{
		{Name: "ready", Type: "http", Role: spec.RoleReadiness, Interval: dur(10 * time.Millisecond), Retries: 2},
		{Name: "alive", Type: "tcp", Role: spec.RoleLiveness, Interval: dur(10 * time.Millisecond)},
	}
	w := NewWatcher(checks, target, nil)
	w.StartFailing(spec.RoleReadiness)
	if got := w.Failing(); !cmp.Equal(got, []string{"ready"}) {
		t.Fatalf("Failing() before Run = %v, want [ready]", got)
	}
	got := make(chan Transition, 4)
	w.OnTransition(func(tr Transition) { got <- tr })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = w.Run(ctx) }()
	select {
	case tr := <-got:
		if tr.Check != "ready" || !tr.Healthy {
			t.Fatalf("first transition %+v, want ready recovering", tr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no recovery reported within 10s")
	}
	waitFor(t, "nothing failing", func() bool { return len(w.Failing()) == 0 })
}
