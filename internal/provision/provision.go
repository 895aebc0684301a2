// Package provision makes a host ready for an app in one idempotent pass:
// its system user, its directories with owners and modes, its secrets file,
// its systemd template unit, berth's own daemon unit (and optionally a timer
// for `berth check disk`), then daemon-reload and the daemon started.
//
// Plan compares the host with what the spec needs and returns only the
// differences; Apply carries them out in order, timing each, and stops at
// the first failure. Every write is atomic (temp, fsync, rename) and every
// step checks the host afresh, so a re-run after a failure completes the
// work and a run on a provisioned host has nothing to do.
//
// A Provisioner holds no state between calls and is safe for concurrent
// use, though two runs against one host at once would race on the host.
package provision

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/systemd"
	"github.com/berth-dev/berth/internal/sysuser"
)

// ErrNotRoot is returned when provisioning runs without root.
var ErrNotRoot = errors.New("provisioning changes users, /etc/systemd and berth's home: run it as root")

// Config is where and how a Provisioner changes the host.
type Config struct {
	Home      home.Layout
	UnitDir   string            // systemd.UnitDir unless set
	Exe       string            // berth's binary, run by berth.service
	Systemctl systemd.Systemctl // how to reach systemd
	// CheckDiskEvery installs a timer running `berth check disk` this often;
	// 0 installs none (and removes one a previous run installed).
	CheckDiskEvery time.Duration
	// CheckAppEvery installs a timer running `berth check app APP` (the
	// app's functional checks) this often; 0 removes one installed before.
	CheckAppEvery time.Duration
}

// Provisioner plans and applies host changes.
type Provisioner struct{ cfg Config }

// New returns a Provisioner for cfg.
func New(cfg Config) *Provisioner {
	if cfg.UnitDir == "" {
		cfg.UnitDir = systemd.UnitDir
	}
	return &Provisioner{cfg: cfg}
}

// Kinds of step, as printed.
const (
	KindGroup   = "group"
	KindUser    = "user"
	KindDir     = "dir"
	KindFile    = "file"
	KindUnit    = "unit"
	KindSystemd = "systemd"
)

// Step is one change to the host.
type Step struct {
	Kind   string // KindUser, KindDir, ...
	Target string // a path, a user or a unit
	What   string // one line: "create", "mode 0755 → 0711", "(secret, 3 keys)"
	Diff   string // for --dry-run: the file's diff, indented; never secret content
	apply  func(ctx context.Context) error
}

// String is the step as one line: "+ dir /var/lib/berth/apps/echo (create)".
func (s Step) String() string { return fmt.Sprintf("%-7s %s: %s", s.Kind, s.Target, s.What) }

// Plan is the list of changes one app needs on this host, in the order they
// must be applied.
type Plan struct {
	App   string
	Steps []Step
}

// Result is what Apply reports for each step.
type Result struct {
	Step     Step
	Index, N int
	Took     time.Duration
	Err      error
}

// Apply runs the plan's steps in order, calling report after each one, and
// stops at the first failure. Steps already done stay done: running
// provisioning again picks up where this one stopped.
func (p *Provisioner) Apply(ctx context.Context, plan *Plan, report func(Result)) error {
	for i, s := range plan.Steps {
		start := time.Now()
		err := s.apply(ctx)
		r := Result{Step: s, Index: i + 1, N: len(plan.Steps), Took: time.Since(start), Err: err}
		if report != nil {
			report(r)
		}
		if err != nil {
			return fmt.Errorf("step %d of %d (%s %s) failed: %w; fix the cause and run it again: the steps done are not repeated",
				r.Index, r.N, s.Kind, s.Target, err)
		}
	}
	return nil
}

// Plan compares the host with what app needs and returns the changes.
func (p *Provisioner) Plan(ctx context.Context, app *spec.App) (*Plan, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	owner, create := appUser(app)
	plan := &Plan{App: app.Name}
	plan.add(planGroup(sysuser.ControlGroup))
	fs, err := p.planFrontUser()
	if err != nil {
		return nil, err
	}
	plan.add(fs)
	if create {
		plan.add(planUser(owner))
	} else if owner != "root" {
		if _, _, err := lookupIDs(owner); err != nil {
			return nil, fmt.Errorf("%s: run.user %q does not exist; create it, or leave run.user out to get berth-%s: %w", app.File, owner, app.Name, err)
		}
	}
	for _, d := range p.dirs(app.Name, owner) {
		s, err := planDir(d)
		if err != nil {
			return nil, err
		}
		plan.add(s)
	}
	s, err := p.planEnvFile(app, owner)
	if err != nil {
		return nil, err
	}
	plan.add(s)
	units, err := p.units(app)
	if err != nil {
		return nil, err
	}
	changed := false
	for _, u := range units {
		s, err := planUnit(u)
		if err != nil {
			return nil, err
		}
		changed = changed || s != nil
		plan.add(s)
	}
	steps, err := p.planSystemd(ctx, app, changed, units)
	if err != nil {
		return nil, err
	}
	plan.Steps = append(plan.Steps, steps...)
	return plan, nil
}

// planFrontUser creates the user a root daemon runs its front as, when
// <home>/daemon.toml leaves [front] user to the default: the daemon would
// create it at its start otherwise, and provisioning does the host's
// users up front. A user named there is the operator's to create.
func (p *Provisioner) planFrontUser() (*Step, error) {
	dc, err := config.Load(filepath.Join(p.cfg.Home.Root, config.FileName))
	if err != nil {
		return nil, fmt.Errorf("reading the daemon's config for [front] user: %w", err)
	}
	if dc.Front.User != "" {
		return nil, nil
	}
	s := planUser(config.DefaultFrontUser)
	if s != nil {
		s.What = "create (system user the front runs as, with CAP_NET_BIND_SERVICE only; no login shell, no home)"
	}
	return s, nil
}

// add appends s unless it is nil (nothing to change).
func (pl *Plan) add(s *Step) {
	if s != nil {
		pl.Steps = append(pl.Steps, *s)
	}
}

// appUser is the user the agent runs as and whether berth creates it.
func appUser(app *spec.App) (name string, create bool) {
	if app.Run.User == "" {
		return "berth-" + app.Name, true
	}
	return app.Run.User, false
}

// ManagesUnits reports whether provisioning installs a unit for the app:
// the systemd runtime needs one; auto may pick systemd on this host.
func ManagesUnits(app *spec.App) bool {
	return app.Run.Runtime == spec.RuntimeSystemd || app.Run.Runtime == spec.RuntimeAuto
}
