package systemd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/runtime"
)

// Booted reports whether systemd is the init system here (sd_booted): the
// test `run.runtime = "auto"` uses to pick this runtime.
func Booted() bool {
	fi, err := os.Lstat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

// Runtime is a runtime.Runtime whose instances are units of their app's
// template: Start writes the color's environment file and release link,
// (re)writes the template when the instance's settings changed, then
// `systemctl start`s berth-<app>@<color>. Agents then belong to systemd,
// not to berth: they survive any restart of berth's daemon.
//
// Safe for concurrent use; unit writes and daemon-reloads are serialized.
type Runtime struct {
	home    home.Layout
	sc      Systemctl
	unitDir string
	mu      sync.Mutex // guards unit writes and daemon-reload
}

var _ runtime.Runtime = (*Runtime)(nil)

// NewRuntime returns a runtime for the apps under l, installing units into
// unitDir (UnitDir when empty).
func NewRuntime(l home.Layout, sc Systemctl, unitDir string) *Runtime {
	if unitDir == "" {
		unitDir = UnitDir
	}
	return &Runtime{home: l, sc: sc, unitDir: unitDir}
}

// Start implements runtime.Runtime. It returns once systemd reports the
// unit active (Type=notify: once the agent sent READY=1).
func (r *Runtime) Start(ctx context.Context, inst runtime.Instance) (runtime.Status, error) {
	app, color, err := SplitID(inst.ID)
	if err != nil {
		return runtime.Status{}, err
	}
	if app != inst.App {
		return runtime.Status{}, fmt.Errorf("instance %s belongs to app %q, not %q", inst.ID, app, inst.App)
	}
	unit := UnitName(app, color)
	if st, err := r.status(ctx, inst.ID); err == nil && st.State == runtime.StateRunning {
		return st, fmt.Errorf("starting %s: %w", unit, runtime.ErrRunning)
	}
	if err := r.installUnit(ctx, inst); err != nil {
		return runtime.Status{}, err
	}
	if err := r.writeColor(inst, app, color); err != nil {
		return runtime.Status{}, err
	}
	if err := writeSecretsEnv(inst); err != nil {
		return runtime.Status{}, err
	}
	_ = r.sc.ResetFailed(ctx, unit) // a failed earlier run must not count against this one
	if err := r.sc.Start(ctx, unit); err != nil {
		st, _ := r.status(ctx, inst.ID)
		return st, fmt.Errorf("starting %s: %w (last output: %s)", unit, err, strings.Join(st.LastStderr, " | "))
	}
	return r.status(ctx, inst.ID)
}

// installUnit writes the app's template unit when it differs from the one
// the instance needs, and reloads systemd.
func (r *Runtime) installUnit(ctx context.Context, inst runtime.Instance) error {
	u, err := FromInstance(inst, r.home).Unit()
	if err != nil {
		return err
	}
	data := u.Render()
	path := filepath.Join(r.unitDir, TemplateName(inst.App))
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := WriteFile(path, data, 0o644, 0, 0); err != nil {
		return fmt.Errorf("installing unit of %s: %w", inst.App, err)
	}
	if err := r.sc.DaemonReload(ctx); err != nil {
		return fmt.Errorf("installing unit of %s: %w", inst.App, err)
	}
	return nil
}

// writeColor writes the color's environment file, then points its link at
// the release: the unit reads both at start through %i.
func (r *Runtime) writeColor(inst runtime.Instance, app, color string) error {
	p := AppPaths{Home: r.home, App: app}
	if err := os.MkdirAll(p.Colors(), 0o711); err != nil {
		return fmt.Errorf("creating %s: %w", p.Colors(), err)
	}
	var b strings.Builder
	b.WriteString("# Written by berth before each start of " + UnitName(app, color) + ".\n")
	for _, kv := range inst.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("environment of %s: %q is not KEY=VALUE", inst.ID, kv)
		}
		line, err := EnvFileLine(k, v)
		if err != nil {
			return fmt.Errorf("environment of %s: %w", inst.ID, err)
		}
		b.WriteString(line + "\n")
	}
	// Root-only: systemd reads it before dropping to the agent's user.
	if err := WriteFile(p.ColorEnv(color), []byte(b.String()), 0o600, 0, 0); err != nil {
		return err
	}
	dir, err := filepath.Abs(inst.Dir)
	if err != nil {
		return fmt.Errorf("release dir of %s: %w", inst.ID, err)
	}
	return Symlink(dir, p.ColorLink(color))
}

// Stop implements runtime.Runtime: systemctl stop waits until no process
// of the unit is left (SIGTERM, TimeoutStopSec, SIGKILL).
func (r *Runtime) Stop(ctx context.Context, id string) (runtime.Status, error) {
	app, color, err := SplitID(id)
	if err != nil {
		return runtime.Status{}, err
	}
	// An instance this runtime never started is not found here (the router
	// then asks the keeper); systemctl would call its unit "not loaded".
	if _, err := r.status(ctx, id); errors.Is(err, runtime.ErrNotFound) {
		return runtime.Status{}, err
	}
	if err := r.sc.Stop(ctx, UnitName(app, color)); err != nil {
		return runtime.Status{}, err
	}
	st, err := r.status(ctx, id)
	if errors.Is(err, runtime.ErrNotFound) {
		return runtime.Status{ID: id, App: app, State: runtime.StateStopped}, nil
	}
	return st, err
}

// Status implements runtime.Runtime.
func (r *Runtime) Status(ctx context.Context, id string) (runtime.Status, error) {
	return r.status(ctx, id)
}

// List implements runtime.Runtime: every color with an environment file,
// which is what Start leaves and Remove takes away.
func (r *Runtime) List(ctx context.Context) ([]runtime.Status, error) {
	envs, err := filepath.Glob(filepath.Join(r.home.Root, "apps", "*", "colors", "*.env"))
	if err != nil {
		return nil, fmt.Errorf("listing instances: %w", err)
	}
	sort.Strings(envs)
	var out []runtime.Status
	for _, e := range envs {
		app := filepath.Base(filepath.Dir(filepath.Dir(e)))
		color := strings.TrimSuffix(filepath.Base(e), ".env")
		st, err := r.status(ctx, app+"."+color)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Remove implements runtime.Runtime: a stopped instance's link and
// environment file go, and systemd forgets its failures.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	st, err := r.status(ctx, id)
	if err != nil {
		return err
	}
	if st.State == runtime.StateRunning || st.State == runtime.StateBackoff || st.State == runtime.StateCrashloop {
		return fmt.Errorf("removing %s: it is %s; stop it first", id, st.State)
	}
	app, color, _ := SplitID(id)
	p := AppPaths{Home: r.home, App: app}
	for _, path := range []string{p.ColorEnv(color), p.ColorLink(color)} {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", id, err)
		}
	}
	return r.sc.ResetFailed(ctx, UnitName(app, color))
}

// Logs returns the last n lines the instance wrote, from journald.
func (r *Runtime) Logs(ctx context.Context, id string, n int) ([]string, error) {
	app, color, err := SplitID(id)
	if err != nil {
		return nil, err
	}
	return r.sc.Journal(ctx, UnitName(app, color), n)
}
