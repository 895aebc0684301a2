package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/state"
)

// Remove takes an app out of berth: its proxy closes (its listener with
// it), every instance is stopped and forgotten by the runtime, and the app
// leaves the app list. Its deployments and events stay: they are the audit
// trail, and they keep deployment IDs increasing should an app of the same
// name come back. Its releases, shared data and logs stay unless purge.
// An app whose first deploy failed is removed the same way (a first deploy
// records the app before its first step). Refused with
// ErrBusy while a deploy of the app runs.
func (e *Engine) Remove(ctx context.Context, name, user string, purge bool) error {
	ctx = context.WithoutCancel(ctx) // a client going away must not leave it half-done
	unlock, err := e.lock(name, "removal by "+user)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := e.store.GetApp(name)
	if errors.Is(err, state.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrUnknownApp, name)
	}
	if err != nil {
		return err
	}
	e.forgetTimers(name)
	e.dropProxy(name)
	for _, id := range instancesOf(name, st) {
		if _, err := e.rt.Stop(ctx, id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			return fmt.Errorf("stopping %s: %w", id, err)
		}
		if err := e.rt.Remove(ctx, id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			return fmt.Errorf("forgetting %s: %w", id, err)
		}
	}
	if err := e.store.DeleteApp(name); err != nil && !errors.Is(err, state.ErrNotFound) {
		return err
	}
	msg := "removed by " + user + "; releases, shared data and logs kept"
	if purge {
		if err := e.purge(name); err != nil {
			return err
		}
		msg = "removed by " + user + " with --purge"
	}
	e.event(name, "app.removed", msg)
	return nil
}

// instancesOf lists every instance app may have in the runtime: its
// recorded colors and both color IDs, since a failed deploy forgets the
// color it abandoned.
func instancesOf(app string, st state.App) []string {
	seen := map[string]bool{}
	var out []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for color, c := range st.Colors {
		add(c.Instance)
		for _, id := range idsOf(app, st, color) {
			add(id.String())
		}
	}
	add(instanceID(app, Blue))
	add(instanceID(app, Green))
	return out
}

// forgetTimers stops the app's keep_warm expiries.
func (e *Engine) forgetTimers(app string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for key, t := range e.timers {
		if strings.HasPrefix(key, app+".") {
			t.Stop()
			delete(e.timers, key)
		}
	}
}

// purge deletes the app's releases, shared data, logs and secrets.
func (e *Engine) purge(app string) error {
	if app == "" || app == "." || app == ".." || strings.ContainsAny(app, `/\`) {
		return fmt.Errorf("purging %q: not an app name", app)
	}
	for _, dir := range []string{e.home.AppDir(app), e.home.LogDir(app), e.home.SecretsDir(app)} {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("purging %s: %w", dir, err)
		}
	}
	return nil
}
