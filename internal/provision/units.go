package provision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/systemd"
)

// units renders every unit the app and berth need on this host.
func (p *Provisioner) units(app *spec.App) ([]unitFile, error) {
	var out []unitFile
	if ManagesUnits(app) {
		u, err := systemd.FromSpec(app, p.cfg.Home).Unit()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", app.File, err)
		}
		out = append(out, unitFile{filepath.Join(p.cfg.UnitDir, systemd.TemplateName(app.Name)), u.Render()})
	}
	if s, ok, err := proxySocket(app); err != nil {
		return nil, err
	} else if ok {
		out = append(out, unitFile{filepath.Join(p.cfg.UnitDir, systemd.ProxySocketName(app.Name)), s.Render()})
	}
	d, err := systemd.Daemon{Exe: p.cfg.Exe, Home: p.cfg.Home.Root}.Unit()
	if err != nil {
		return nil, err
	}
	out = append(out, unitFile{filepath.Join(p.cfg.UnitDir, systemd.DaemonUnit), d.Render()})
	for _, ct := range p.timers(app) {
		if ct.Interval <= 0 {
			continue
		}
		svc, timer, err := ct.Units()
		if err != nil {
			return nil, err
		}
		svcName, timerName := ct.Names()
		out = append(out,
			unitFile{filepath.Join(p.cfg.UnitDir, svcName), svc.Render()},
			unitFile{filepath.Join(p.cfg.UnitDir, timerName), timer.Render()})
	}
	return out, nil
}

// timers are the check timers this run is about: the host's disk check and
// the app's functional check; an Interval of 0 means "not wanted" (its
// units are removed when a previous run installed them).
func (p *Provisioner) timers(app *spec.App) []systemd.CheckTimer {
	return []systemd.CheckTimer{
		{Exe: p.cfg.Exe, Home: p.cfg.Home.Root, Interval: p.cfg.CheckDiskEvery},
		{Exe: p.cfg.Exe, Home: p.cfg.Home.Root, Interval: p.cfg.CheckAppEvery, App: app.Name},
	}
}

// planSystemd adds what systemd must be told: a reload when a unit file
// changed (or a previous run wrote one and failed before reloading), the
// daemon enabled and running (restarted when its unit changed), the timer.
func (p *Provisioner) planSystemd(ctx context.Context, app *spec.App, changed bool, units []unitFile) ([]Step, error) {
	sc := p.cfg.Systemctl
	var steps []Step
	for _, ct := range p.timers(app) {
		if ct.Interval > 0 {
			continue
		}
		svcName, timerName := ct.Names()
		for _, name := range []string{timerName, svcName} {
			path := filepath.Join(p.cfg.UnitDir, name)
			if s := removeStep(KindUnit, path, "no check timer asked for"); s != nil {
				if name == timerName {
					steps = append(steps, Step{Kind: KindSystemd, Target: name, What: "disable --now",
						apply: func(ctx context.Context) error { return sc.Disable(ctx, name) }})
				}
				steps = append(steps, *s)
				changed = true
			}
		}
	}
	if !changed {
		stale, err := p.needReload(ctx, app, units)
		if err != nil {
			return nil, err
		}
		changed = stale
	}
	if changed {
		steps = append(steps, Step{Kind: KindSystemd, Target: "daemon-reload", What: "read the changed units",
			apply: sc.DaemonReload})
	}
	sockSteps, rebind, err := p.planSocket(ctx, app, units)
	if err != nil {
		return nil, err
	}
	steps = append(steps, sockSteps...)
	props, err := sc.Show(ctx, systemd.DaemonUnit, "UnitFileState", "ActiveState")
	if err != nil {
		return nil, err
	}
	daemonChanged := unitChanged(units, systemd.DaemonUnit)
	switch {
	case props["UnitFileState"] != "enabled" || props["ActiveState"] != "active":
		steps = append(steps, Step{Kind: KindSystemd, Target: systemd.DaemonUnit, What: "enable --now",
			apply: func(ctx context.Context) error { return sc.EnableNow(ctx, systemd.DaemonUnit) }})
	case daemonChanged || rebind:
		why := "its unit changed"
		if rebind {
			why = "to take " + systemd.ProxySocketName(app.Name) + " from systemd"
		}
		steps = append(steps, Step{Kind: KindSystemd, Target: systemd.DaemonUnit, What: "restart (" + why + ")",
			apply: func(ctx context.Context) error { return sc.Restart(ctx, systemd.DaemonUnit) }})
	}
	for _, ct := range p.timers(app) {
		if ct.Interval <= 0 {
			continue
		}
		_, timerName := ct.Names()
		tp, err := sc.Show(ctx, timerName, "UnitFileState", "ActiveState")
		if err != nil {
			return nil, err
		}
		if tp["UnitFileState"] != "enabled" || tp["ActiveState"] != "active" {
			steps = append(steps, Step{Kind: KindSystemd, Target: timerName, What: "enable --now",
				apply: func(ctx context.Context) error { return sc.EnableNow(ctx, timerName) }})
		}
	}
	return steps, nil
}

// proxySocket is the socket unit of the app's proxy; none for an app
// without a [service], or whose listen is a host name (systemd binds only
// addresses: the daemon then binds it itself, and a restart refuses
// connections for a moment).
func proxySocket(app *spec.App) (systemd.Unit, bool, error) {
	if app.Service == nil {
		return systemd.Unit{}, false, nil
	}
	u, err := systemd.ProxySocket{App: app.Name, Listen: app.Service.Listen}.Unit()
	if errors.Is(err, systemd.ErrNotAnAddress) {
		return systemd.Unit{}, false, nil
	}
	if err != nil {
		return systemd.Unit{}, false, fmt.Errorf("%s: %w", app.File, err)
	}
	return u, true, nil
}

// planSocket enables the proxy's socket and says whether berth.service must
// restart to take it: systemd refuses to start a socket while the service
// it feeds runs, and only a start of the service passes the socket on. A
// socket whose unit changed is stopped first, so the restart binds it anew.
func (p *Provisioner) planSocket(ctx context.Context, app *spec.App, units []unitFile) ([]Step, bool, error) {
	name := systemd.ProxySocketName(app.Name)
	sc := p.cfg.Systemctl
	if !hasUnit(units, name) {
		// The app lost its [service] (or listens on a host name now).
		s := removeStep(KindUnit, filepath.Join(p.cfg.UnitDir, name), "no socket for this [service]")
		if s == nil {
			return nil, false, nil
		}
		return []Step{{Kind: KindSystemd, Target: name, What: "disable --now",
			apply: func(ctx context.Context) error { return sc.Disable(ctx, name) }}, *s}, false, nil
	}
	props, err := sc.Show(ctx, name, "UnitFileState", "ActiveState")
	if err != nil {
		return nil, false, err
	}
	var steps []Step
	if props["UnitFileState"] != "enabled" {
		steps = append(steps, Step{Kind: KindSystemd, Target: name, What: "enable (berth.service starts it)",
			apply: func(ctx context.Context) error { return sc.Enable(ctx, name) }})
	}
	active := props["ActiveState"] == "active"
	changed := unitChanged(units, name)
	if active && changed {
		steps = append(steps, Step{Kind: KindSystemd, Target: name, What: "stop (its unit changed; the daemon's restart binds it again)",
			apply: func(ctx context.Context) error { return sc.Stop(ctx, name) }})
	}
	return steps, changed || !active, nil
}

func hasUnit(units []unitFile, name string) bool {
	for _, u := range units {
		if filepath.Base(u.path) == name {
			return true
		}
	}
	return false
}

// unitChanged reports whether the named unit's file differs from the host's.
func unitChanged(units []unitFile, name string) bool {
	for _, u := range units {
		if filepath.Base(u.path) == name {
			old, err := os.ReadFile(u.path)
			return err != nil || string(old) != string(u.data)
		}
	}
	return false
}

// needReload asks systemd whether it still runs an older copy of any of the
// units, which a run that failed between writing and reloading leaves.
func (p *Provisioner) needReload(ctx context.Context, app *spec.App, units []unitFile) (bool, error) {
	for _, u := range units {
		name := filepath.Base(u.path)
		if name == systemd.TemplateName(app.Name) {
			name = systemd.UnitName(app.Name, "blue")
		}
		props, err := p.cfg.Systemctl.Show(ctx, name, "NeedDaemonReload", "LoadState")
		if err != nil {
			return false, err
		}
		if props["NeedDaemonReload"] == "yes" || props["LoadState"] == "not-found" {
			return true, nil
		}
	}
	return false, nil
}

// Security is the exposure systemd-analyze gives an app's generated unit.
type Security struct {
	Unit     string
	Exposure float64
	Verdict  string
	Took     time.Duration
}

// Score measures the app's unit (its blue instance) with systemd-analyze.
func (p *Provisioner) Score(ctx context.Context, app string) (Security, error) {
	start := time.Now()
	unit := systemd.UnitName(app, "blue")
	e, v, err := p.cfg.Systemctl.SecurityScore(ctx, unit)
	if err != nil {
		return Security{}, err
	}
	return Security{Unit: unit, Exposure: e, Verdict: v, Took: time.Since(start)}, nil
}
