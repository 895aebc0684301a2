package deploy

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/state"
)

func newTestEngine(t *testing.T) *Engine {
	t.Helper()
	st, err := state.Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
}

// TestAbortAndCommitAreOrdered: an aborted deploy cannot commit, and a
// committed one, or one already undoing its own failure, cannot be
// aborted; with nothing running, Abort says so.
func TestAbortAndCommitAreOrdered(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	if _, err := e.Abort("a", "root"); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Abort with no deploy: %v, want ErrNotRunning", err)
	}

	r, stop := e.track(context.Background(), state.Deployment{App: "a", ID: "1"}, nil)
	if id, err := e.Abort("a", "root"); err != nil || id != "1" {
		t.Fatalf("Abort of a running deploy: %q, %v", id, err)
	}
	ran := false
	if err := r.commit(stop, func() error { ran = true; return nil }); !errors.Is(err, ErrAborted) || ran {
		t.Errorf("commit after Abort: err %v, ran %v; want ErrAborted and no commit", err, ran)
	}
	e.untrack(r, state.Deployment{}, nil)

	r, stop = e.track(context.Background(), state.Deployment{App: "a", ID: "2"}, nil)
	if err := r.commit(stop, func() error { return nil }); err != nil {
		t.Fatalf("commit: %v", err)
	}
	if _, err := e.Abort("a", "root"); !errors.Is(err, ErrCommitted) {
		t.Errorf("Abort after the commit: %v, want ErrCommitted", err)
	}
	if stop.Err() != nil {
		t.Error("a refused Abort cancelled the deploy")
	}
	e.untrack(r, state.Deployment{}, nil)

	r, stop = e.track(context.Background(), state.Deployment{App: "a", ID: "3"}, nil)
	r.undo() // it failed by itself
	if _, err := e.Abort("a", "root"); !errors.Is(err, ErrUndoing) || stop.Err() != nil {
		t.Errorf("Abort of a deploy undoing its failure: %v, cancelled %v; want ErrUndoing and no cancel", err, stop.Err() != nil)
	}
	e.untrack(r, state.Deployment{}, nil)
}

// TestAttachReplaysAndFollows: an attached client gets the lines so far,
// then the new ones, then the deploy's result.
func TestAttachReplaysAndFollows(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	var own []string
	r, _ := e.track(context.Background(), state.Deployment{App: "a", ID: "4"}, func(p Progress) { own = append(own, p.Step) })
	r.emit(Progress{Step: "install release"})
	r.emit(Progress{Step: "prepare blue"})

	got := make(chan []string, 1)
	attached := make(chan struct{})
	var res state.Deployment
	go func() {
		var steps []string
		d, _ := e.Attach(context.Background(), "a", func(p Progress) {
			steps = append(steps, p.Step)
			if len(steps) == 2 {
				close(attached)
			}
		})
		res = d
		got <- steps
	}()
	select {
	case <-attached:
	case <-time.After(10 * time.Second):
		t.Fatal("Attach replayed nothing")
	}
	r.emit(Progress{Step: "start blue"})
	e.untrack(r, state.Deployment{ID: "4", Outcome: state.OutcomeSucceeded}, nil)
	steps := <-got
	want := []string{"install release", "prepare blue", "start blue"}
	if len(steps) != len(want) || steps[2] != want[2] || len(own) != 3 {
		t.Errorf("attached client got %v, the deploying one %v; want %v for both", steps, own, want)
	}
	if res.ID != "4" || res.Outcome != state.OutcomeSucceeded {
		t.Errorf("Attach result %+v, want deployment 4 succeeded", res)
	}
	if _, err := e.Attach(context.Background(), "a", func(Progress) {}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Attach after the end: %v, want ErrNotRunning", err)
	}
}
