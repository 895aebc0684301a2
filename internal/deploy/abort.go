package deploy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/berth-dev/berth/internal/state"
)

// ErrAborted is the cause of a deploy stopped by Abort.
var ErrAborted = errors.New("aborted")

// ErrNotRunning is returned by Abort and Attach when no deploy of the app runs.
var ErrNotRunning = errors.New("no deploy of this app is running")

// ErrCommitted is returned by Abort once the deploy has made its release
// live: what is left (drain, retire) only finishes it; undo it with rollback.
var ErrCommitted = errors.New("the deploy already made its release live")

// ErrUndoing is returned by Abort once the deploy failed by itself and is
// already going back to the previous version.
var ErrUndoing = errors.New("the deploy already failed and is undoing itself")

// subBuffer is how many progress lines an attached client may fall behind
// before it misses lines; a deploy never waits for an attached client.
const subBuffer = 1024

// run is one deploy in progress as others see it: Abort cancels it, Attach
// replays its progress and follows it. Safe for concurrent use.
type run struct {
	app, id string
	cancel  context.CancelCauseFunc
	out     ProgressFunc // the deploying client's
	done    chan struct{}
	canary  atomic.Pointer[canaryRun] // set while a canary runs, for Promote and Status

	cmu       sync.Mutex // orders Abort against the commit and the undoing
	committed bool
	undoing   bool

	mu     sync.Mutex
	past   []Progress
	subs   map[chan Progress]struct{}
	result state.Deployment
	err    error
}

// track registers the deploy d of its app and returns the context its
// forward steps run under: Abort cancels it, nothing else does.
func (e *Engine) track(ctx context.Context, d state.Deployment, out ProgressFunc) (*run, context.Context) {
	stop, cancel := context.WithCancelCause(ctx)
	r := &run{app: d.App, id: d.ID, cancel: cancel, out: out, done: make(chan struct{}), subs: map[chan Progress]struct{}{}}
	e.mu.Lock()
	e.runs[d.App] = r
	e.mu.Unlock()
	return r, stop
}

// untrack publishes the deploy's result to attached clients and forgets it.
func (e *Engine) untrack(r *run, d state.Deployment, err error) {
	e.mu.Lock()
	if e.runs[r.app] == r {
		delete(e.runs, r.app)
	}
	e.mu.Unlock()
	r.mu.Lock()
	r.result, r.err = d, err
	r.mu.Unlock()
	r.cancel(nil)
	close(r.done)
}

// emit sends p to the deploying client and to every attached one.
func (r *run) emit(p Progress) {
	if r.out != nil {
		r.out(p)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.past = append(r.past, p)
	for ch := range r.subs {
		select {
		case ch <- p:
		default: // a stalled client misses lines rather than stall the deploy
		}
	}
}

// commit runs fn, the step that makes the release live, unless the deploy
// was aborted; after it Abort refuses.
func (r *run) commit(stop context.Context, fn func() error) error {
	r.cmu.Lock()
	err := aborted(stop)
	r.committed = err == nil
	r.cmu.Unlock()
	if err != nil {
		return err
	}
	return fn()
}

// undo records that the deploy is going back to the previous version, so
// that a later Abort says so instead of claiming the failure.
func (r *run) undo() {
	if r == nil {
		return
	}
	r.cmu.Lock()
	r.undoing = true
	r.cmu.Unlock()
}

// aborted returns the abort's cause once stop is cancelled, else nil.
func aborted(stop context.Context) error {
	if stop.Err() == nil {
		return nil
	}
	if c := context.Cause(stop); errors.Is(c, ErrAborted) {
		return c
	}
	return fmt.Errorf("%w: %v", ErrAborted, stop.Err())
}

// Abort stops the running deploy of app at its current step; the deploy
// then undoes what it did and ends as aborted, with the previous version
// live. It returns the deployment's ID without waiting for the end.
func (e *Engine) Abort(app, user string) (string, error) {
	e.mu.Lock()
	r, ok := e.runs[app]
	e.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrNotRunning, app)
	}
	r.cmu.Lock()
	defer r.cmu.Unlock()
	if r.committed {
		return r.id, fmt.Errorf("%w: deployment %s of %s; to undo it: berth rollback %s", ErrCommitted, r.id, app, app)
	}
	if r.undoing {
		return r.id, fmt.Errorf("%w: deployment %s of %s (berth deploy --attach %s follows it)", ErrUndoing, r.id, app, app)
	}
	r.cancel(fmt.Errorf("%w by %s", ErrAborted, user))
	e.event(app, "deploy.abort", fmt.Sprintf("deployment %s aborted by %s", r.id, user))
	return r.id, nil
}

// Attach replays the running deploy's progress of app to out and follows
// it to its end, returning its result as Deploy returned it to the client
// that started it. It returns early when ctx ends.
func (e *Engine) Attach(ctx context.Context, app string, out ProgressFunc) (state.Deployment, error) {
	e.mu.Lock()
	r, ok := e.runs[app]
	e.mu.Unlock()
	if !ok {
		return state.Deployment{}, fmt.Errorf("%w: %s", ErrNotRunning, app)
	}
	ch := make(chan Progress, subBuffer)
	r.mu.Lock()
	past := append([]Progress(nil), r.past...)
	r.subs[ch] = struct{}{}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.subs, ch)
		r.mu.Unlock()
	}()
	for _, p := range past {
		out(p)
	}
	for {
		select {
		case p := <-ch:
			out(p)
		case <-r.done:
			for len(ch) > 0 {
				out(<-ch)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.result, r.err
		case <-ctx.Done():
			return state.Deployment{}, ctx.Err()
		}
	}
}
