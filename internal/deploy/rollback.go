package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/internal/release"
	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/state"
)

// ErrNoPrevious is returned by Rollback when there is nothing to go back to.
var ErrNoPrevious = errors.New("no previous release to roll back to")

// Rollback makes an earlier release live again: to, or the release that was
// live before the current one. When that release is still warm on the other
// color, it is one switch of the proxy; otherwise the release is deployed to
// the idle color and verified first, like any deploy.
func (e *Engine) Rollback(ctx context.Context, app, to, user string, out ProgressFunc) (state.Deployment, error) {
	st, err := e.store.GetApp(app)
	if errors.Is(err, state.ErrNotFound) {
		return state.Deployment{}, fmt.Errorf("%w: %s", ErrUnknownApp, app)
	}
	if err != nil {
		return state.Deployment{}, err
	}
	if to == "" {
		if to, err = e.previousRelease(st); err != nil {
			return state.Deployment{}, err
		}
	} else if _, err := e.findRelease(app, to); err != nil {
		return state.Deployment{}, fmt.Errorf("%w: %w", ErrUnknownRelease, err)
	}
	if d, ok, err := e.instantRollback(ctx, st, to, user, "", out); ok || err != nil {
		return d, err
	}
	specFile, specBytes := e.releaseSpec(st, to)
	return e.Deploy(ctx, Request{SpecFile: specFile, Spec: specBytes, ReleaseID: to, User: user, Kind: KindRollback}, out)
}

// releaseSpec is the spec release relID was deployed with: the berth.toml
// inside it, else the app's live spec.
func (e *Engine) releaseSpec(st state.App, relID string) (string, []byte) {
	if rel, err := e.findRelease(st.Name, relID); err == nil {
		if b, err := os.ReadFile(filepath.Join(rel.Dir, filepath.Base(st.SpecFile))); err == nil {
			return st.SpecFile, b
		}
	}
	return st.SpecFile, st.Spec
}

// previousRelease is the warm color's release, else the newest installed
// release older than the live one.
func (e *Engine) previousRelease(st state.App) (string, error) {
	live := st.Colors[st.Live].Release
	if w, ok := st.Colors[other(st.Live)]; ok && w.Warm && w.Release != live {
		return w.Release, nil
	}
	rels, err := release.List(e.home.AppDir(st.Name))
	if err != nil {
		return "", err
	}
	for i := len(rels) - 1; i >= 0; i-- {
		if rels[i].ID < live {
			return rels[i].ID, nil
		}
	}
	return "", fmt.Errorf("%w: %s runs %s, the oldest kept release", ErrNoPrevious, st.Name, live)
}

// instantRollback switches back to a warm color that runs release to. ok is
// false when no such color is running.
func (e *Engine) instantRollback(ctx context.Context, st state.App, to, user, why string, out ProgressFunc) (state.Deployment, bool, error) {
	px, hasProxy := e.Proxy(st.Name)
	warm := other(st.Live)
	c, ok := st.Colors[warm]
	if !hasProxy || !ok || !c.Warm || c.Release != to {
		return state.Deployment{}, false, nil
	}
	if s, err := e.rt.Status(ctx, c.Instance); err != nil || s.State != runtime.StateRunning {
		return state.Deployment{}, false, nil
	}
	d, unlock, err := e.begin(state.Deployment{App: st.Name, Kind: KindRollback, Strategy: "switch",
		User: user, StartedAt: time.Now(), Release: to, FromRelease: st.Colors[st.Live].Release})
	if err != nil {
		return state.Deployment{}, true, err
	}
	defer unlock()
	j := j0(e, d, out)
	_ = j.step("switch to "+warm, func() (string, error) {
		start := time.Now()
		prev := switchColor(px, st.Name, st, warm)
		j.d.SwitchTook = time.Since(start)
		j.d.Live = warm
		return fmt.Sprintf("%s -> %s in %s", prev.Name, warm, j.d.SwitchTook), nil
	})
	err = e.store.UpdateApp(st.Name, func(a *state.App) error {
		old := a.Colors[a.Live]
		old.Warm = true
		a.Colors[a.Live] = old
		nw := a.Colors[warm]
		nw.Warm = false
		a.Colors[warm] = nw
		a.Live = warm
		a.UpdatedAt = time.Now()
		return nil
	})
	if err == nil {
		err = release.SetCurrent(e.home.AppDir(st.Name), to)
	}
	if err != nil {
		return j.finish("failed", err.Error()), true, err
	}
	j.event("rollback", "switched back to "+warm+" running "+to, nil)
	e.wg.Add(1)
	go func() { // drain in the background: the rollback itself is done
		defer e.wg.Done()
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		px.Drain(dctx, st.Live)
	}()
	return j.finish("succeeded", why), true, nil
}
