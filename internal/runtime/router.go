package runtime

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Router is the Runtime the deploy engine sees when more than one backend
// can run agents: Start goes to the backend the instance names; Stop,
// Status and Remove go to the backend that runs the instance, found by
// asking each (after a daemon restart nothing is remembered, and nothing
// needs to be). It is safe for concurrent use.
type Router struct {
	Backends map[string]Runtime
	Default  string // the backend of instances that name none

	mu    sync.Mutex
	where map[string]string // instance ID -> backend, as far as known
}

// ErrNoBackend is returned for an instance whose backend is not available.
var ErrNoBackend = errors.New("runtime not available")

func (r *Router) backend(name string) (Runtime, error) {
	name = r.Resolve(name)
	b, ok := r.Backends[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoBackend, name)
	}
	return b, nil
}

func (r *Router) remember(id, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.where == nil {
		r.where = map[string]string{}
	}
	r.where[id] = name
}

// Start starts inst on its backend.
func (r *Router) Start(ctx context.Context, inst Instance) (Status, error) {
	b, err := r.backend(inst.Backend)
	if err != nil {
		return Status{}, err
	}
	name := r.Resolve(inst.Backend)
	inst.Backend = name
	r.remember(inst.ID, name)
	return b.Start(ctx, inst)
}

// find runs fn on the backend that knows id: the remembered one first,
// then every other, until one succeeds. A backend that fails otherwise than
// ErrNotFound (a container engine that is down) does not hide the instance
// from the others; its error is returned only when no backend has id.
func (r *Router) find(id string, fn func(Runtime) error) error {
	r.mu.Lock()
	known := r.where[id]
	r.mu.Unlock()
	order := []string{known}
	for name := range r.Backends {
		if name != known {
			order = append(order, name)
		}
	}
	var firstErr error
	for _, name := range order {
		b, ok := r.Backends[name]
		if !ok {
			continue
		}
		err := fn(b)
		if err == nil {
			r.remember(id, name)
			return nil
		}
		if !errors.Is(err, ErrNotFound) && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return firstErr
	}
	return ErrNotFound
}

// Stop stops id on whichever backend runs it.
func (r *Router) Stop(ctx context.Context, id string) (st Status, err error) {
	err = r.find(id, func(b Runtime) (e error) { st, e = b.Stop(ctx, id); return e })
	return st, err
}

// Status reports id from whichever backend runs it.
func (r *Router) Status(ctx context.Context, id string) (st Status, err error) {
	err = r.find(id, func(b Runtime) (e error) { st, e = b.Status(ctx, id); return e })
	return st, err
}

// Remove forgets id on whichever backend knows it.
func (r *Router) Remove(ctx context.Context, id string) error {
	return r.find(id, func(b Runtime) error { return b.Remove(ctx, id) })
}

// List reports the instances of every backend; a backend that fails is
// skipped when another answered.
func (r *Router) List(ctx context.Context) ([]Status, error) {
	var out []Status
	var firstErr error
	ok := false
	for _, b := range r.Backends {
		st, err := b.List(ctx)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		ok = true
		out = append(out, st...)
	}
	if !ok && firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}
