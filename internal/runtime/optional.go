package runtime

import (
	"context"
	"errors"
	"fmt"
)

// Execer is a runtime that runs a command inside an instance (a
// container's exec). Exec checks of its instances run this way.
type Execer interface {
	Exec(ctx context.Context, id string, argv []string) error
}

// ImagePruner is a runtime that keeps images per release and removes those
// of pruned releases.
type ImagePruner interface {
	PruneImages(ctx context.Context, app string, removed []string) ([]string, error)
}

// ErrNoExec is returned by Router.Exec for an instance whose backend runs
// commands on the host (exec checks then run as host processes).
var ErrNoExec = errors.New("the instance's runtime runs no command inside it")

// Exec runs argv inside id on the backend that runs it.
func (r *Router) Exec(ctx context.Context, id string, argv []string) error {
	err := r.find(id, func(b Runtime) error {
		x, ok := b.(Execer)
		if !ok {
			return ErrNotFound
		}
		if _, err := b.Status(ctx, id); err != nil {
			return err
		}
		return x.Exec(ctx, id, argv)
	})
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("exec in %s: %w", id, ErrNoExec)
	}
	return err
}

// PruneImages removes the images of app's removed releases on every
// backend that keeps images; it returns the ids removed.
func (r *Router) PruneImages(ctx context.Context, app string, removed []string) ([]string, error) {
	var out []string
	var firstErr error
	for _, b := range r.Backends {
		p, ok := b.(ImagePruner)
		if !ok {
			continue
		}
		ids, err := p.PruneImages(ctx, app, removed)
		out = append(out, ids...)
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return out, firstErr
}

// ImagePreparer is a runtime that makes an instance's image present before
// Start (pulled or built), saying what it does through progress, so the
// deploy's output shows a pull as it goes.
type ImagePreparer interface {
	PrepareImage(ctx context.Context, inst Instance, progress func(string)) (string, error)
}

// PrepareImage prepares inst's image on its backend; "" and no error when
// the backend runs no images.
func (r *Router) PrepareImage(ctx context.Context, inst Instance, progress func(string)) (string, error) {
	b, err := r.backend(inst.Backend)
	if err != nil {
		return "", err
	}
	p, ok := b.(ImagePreparer)
	if !ok {
		return "", nil
	}
	return p.PrepareImage(ctx, inst, progress)
}
