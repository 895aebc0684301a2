// Package daemon wires berth's daemon together: the state store, the keeper
// that owns the agents, the deploy engine with its proxies, the monitor,
// alerts, the disk watcher, metrics and the control API. Everything is
// built here once and passed down.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/alert"
	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/internal/container"
	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/disk"
	"github.com/berth-dev/berth/internal/front"
	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/keeper"
	"github.com/berth-dev/berth/internal/metrics"
	"github.com/berth-dev/berth/internal/monitor"
	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/secrets"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
	"github.com/berth-dev/berth/internal/systemd"
)

// Config is what a daemon needs from its caller.
type Config struct {
	Home       home.Layout
	Exe        string // berth's own binary, to start the keeper
	Version    string
	Build      string // toolchain, platform, VCS revision (berth version)
	Logger     *slog.Logger
	ConfigFile string  // daemon.toml; "" = <home>/daemon.toml (absent: defaults)
	Admin      *string // overrides [admin] listen when set; "" = no listener
	// Argv is the daemon's own command line, with which the front
	// restarts it should it die; nil when another supervisor does.
	Argv []string
}

// restoreBudget bounds the re-adoption of apps at start.
const restoreBudget = 60 * time.Second

// Run runs the daemon until ctx ends. Agents keep running after it
// returns. After berth upgrade it returns a *ReExec, which the caller
// executes.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	env := os.Environ() // before systemd's variables are taken: a re-exec needs NOTIFY_SOCKET
	ctx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	if kids := inheritedChildren(); len(kids) > 0 { // before this image starts any child
		reaped := make(chan struct{})
		go func() { defer close(reaped); reapInherited(ctx, kids, time.Second) }()
		defer func() { stopRun(); <-reaped }()
	}
	if cfg.ConfigFile == "" {
		cfg.ConfigFile = filepath.Join(cfg.Home.Root, config.FileName)
	}
	dc, err := config.Load(cfg.ConfigFile)
	if err != nil {
		return err
	}
	if cfg.Admin != nil {
		dc.Admin.Listen = *cfg.Admin
	}
	restart := newSelfRestart(cfg.Argv) // before the notify socket is taken
	// Before any child starts: the sockets and the notify socket systemd
	// passed must not leak into the keeper or systemctl.
	socks, err := systemd.TakeSockets()
	if err != nil {
		log.Warn("ignoring the sockets systemd passed", "err", err)
	} else if n := socks.Len(); n > 0 {
		log.Info("socket activation: adopted listening sockets from systemd", "sockets", n)
	}
	hand := &handover{socks: socks, log: log}
	notify := systemd.TakeNotify()
	// Before the keeper and the front: a bad [front] user starts nothing.
	fuser, err := frontUser(ctx, dc.Front, cfg.ConfigFile, restart != nil)
	if err != nil {
		return err
	}
	switch {
	case fuser != nil && restart != nil:
		// Asked for: an unprivileged front cannot start a root daemon again.
		log.Warn("nothing restarts this daemon should it die: its front runs as "+fuser.Name+
			"; run berth under systemd (berth provision), or leave [front] user out", "front_user", fuser.Name)
		restart = nil
	case fuser == nil && restart != nil && os.Geteuid() == 0 && dc.Front.User == "":
		log.Warn("the front runs as root so that it can restart this root daemon should it die; under systemd (berth provision) it runs as " +
			config.DefaultFrontUser + " with CAP_NET_BIND_SERVICE only, or set [front] user = \"" + config.DefaultFrontUser + "\" to drop root here at the cost of that restart")
	}
	if err := cfg.Home.Create(); err != nil {
		return err
	}
	store, err := state.Open(cfg.Home.DB())
	if err != nil {
		return err
	}
	defer store.Close()

	kcfg := keeper.EnsureConfig{
		RunDir:  cfg.Home.KeeperDir(),
		Exe:     cfg.Exe,
		Args:    []string{"keeper", "--run-dir", cfg.Home.KeeperDir()},
		LogFile: cfg.Home.KeeperLog(),
		Pipes:   keeper.NewPipeStash(),
	}
	kc, err := keeper.Ensure(ctx, kcfg)
	if err != nil {
		return fmt.Errorf("starting the keeper: %w", err)
	}
	defer kc.Close()
	// From now on the daemon holds the agents' pipes too, so a keeper that
	// dies leaves them open for the next one (docs/keeper-protocol.md).
	stashCtx, stopStash := context.WithCancel(ctx)
	stashed := make(chan struct{})
	go func() { defer close(stashed); kcfg.Pipes.Run(stashCtx, kcfg.RunDir) }()
	defer func() { stopStash(); <-stashed }()

	// The front serves the apps' listeners and proxies in a process of its
	// own, so traffic outlives the daemon; a running one is adopted as it is.
	fcfg := frontConfig(cfg.Home, cfg.Exe, fuser)
	if err := front.Own(fcfg); err != nil {
		return err
	}
	fc, err := front.Ensure(ctx, fcfg, nil)
	if err != nil {
		return fmt.Errorf("starting the front: %w", err)
	}
	files := frontFiles{runDir: fcfg.RunDir, user: fuser}
	door := doorSpec(dc.Front, cfg.Home)
	if p, err := files.give("ca_root.pem", door.ACME.CARoot); err != nil {
		log.Error("front door", "err", err) // the front fails on the original too, saying so
	} else {
		door.ACME.CARoot = p
	}
	fr := &remoteFront{c: fc, held: front.NewHeld(), inherited: hand.listener(), log: log, door: door, files: files}
	defer fr.held.Close()
	if err := fc.Door(ctx, fr.door); err != nil {
		log.Error("front door", "err", err)
	}
	if err := fr.refresh(ctx, fc); err != nil {
		log.Warn("holding the front's sockets", "err", err)
	}

	// Agents run under the keeper, or as systemd units where systemd is
	// PID 1 and berth is root (run.runtime = "systemd" or "auto").
	rt := &runtime.Router{Default: spec.RuntimeEmbedded, Backends: map[string]runtime.Runtime{spec.RuntimeEmbedded: kc}}
	if systemd.Booted() && os.Geteuid() == 0 {
		rt.Backends[spec.RuntimeSystemd] = systemd.NewRuntime(cfg.Home, systemd.Systemctl{}, "")
	}
	// The container engines are always there to route to: each connects
	// on first use, so an engine that is down fails only the deploys of
	// the apps that run on it, with where it was looked for.
	for _, name := range []string{container.Docker, container.Podman} {
		cr, err := container.New(container.Config{Engine: name, Home: cfg.Home.Root,
			StateDir: filepath.Join(cfg.Home.Root, "containers", name), Logger: log})
		if err != nil {
			return err
		}
		defer cr.Close()
		rt.Backends[name] = cr
	}

	var m *metrics.Metrics
	alerts, err := alert.New(dc.Alert, store, log, alert.WithDelivered(func(sink string, ok bool) { m.AlertDelivered(sink, ok) }))
	if err != nil {
		return err
	}
	disks := disk.New(dc.Disks(cfg.Home.Root, filepath.Join(cfg.Home.Root, "logs"), filepath.Join(cfg.Home.Root, "apps")),
		disk.Options{Alerts: alerts, Log: log, Growers: growers(cfg.Home)})

	// The metrics read the engine's proxies and the engine records into the
	// metrics: the source learns its engine before anything is served.
	proxies := &proxySource{}
	msrc := metrics.Sources{Proxy: proxies, Instances: rt, Disks: diskSource{disks}, Version: cfg.Version}
	if dc.Front.Enabled() {
		msrc.Hosts = hostSource{fc}
	}
	m = metrics.New(msrc)
	// Likewise the monitor watches the engine's instances and the
	// engine's status reads the monitor's results.
	watched := &healthSource{}
	eng := deploy.New(deploy.Config{Store: store, Runtime: rt, Home: cfg.Home, Logger: log, Metrics: m,
		Front: fr, Health: watched})
	proxies.eng = eng
	defer eng.Close()
	mon := monitor.New(monitor.Config{Source: eng, Actions: eng, Alerts: alert.Flat{D: alerts}, Recorder: m, Logger: log})
	watched.mon = mon

	dash, err := newDashboard(cfg.Home, eng, store, mon, logReader{home: cfg.Home, store: store, journal: rt.Backends[spec.RuntimeSystemd]}, disks, log)
	if err != nil {
		return err
	}

	up := &upgrader{home: cfg.Home, fcfg: fcfg, fr: fr, restart: restart, version: cfg.Version, env: env, log: log, stop: stopRun}
	l, err := api.Listen(cfg.Home.Socket())
	if err != nil {
		return err
	}
	acfg := api.Config{
		Engine:    eng,
		Store:     store,
		Logs:      logReader{home: cfg.Home, store: store, journal: rt.Backends[spec.RuntimeSystemd]},
		Secrets:   secrets.New(cfg.Home),
		Version:   api.Version{Version: cfg.Version, Build: cfg.Build, PID: os.Getpid(), Home: cfg.Home.Root, Binary: cfg.Exe},
		Logger:    log,
		Upgrader:  up,
		FrontInfo: fr.version,
	}
	acfg.Dashboard, acfg.Checks = dash, mon
	srv := api.NewServer(acfg)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()

	// Only now that this daemon owns the API socket does it register with
	// the front for restarts (a second daemon fails above and must not).
	wctx, stopWatch := context.WithCancel(ctx)
	var fw sync.WaitGroup
	defer fw.Wait()
	defer stopWatch()
	fw.Go(func() {
		front.Watch(wctx, fcfg, fr.held, fr.attach(restart), frontReporter(store, alert.Flat{D: alerts}, log))
	})

	rctx, cancel := context.WithTimeout(ctx, restoreBudget)
	start := time.Now()
	if err := eng.Restore(rctx); err != nil {
		log.Error("restoring apps", "err", err)
	}
	cancel()

	// Background work, stopped and waited for before the store closes.
	var bg sync.WaitGroup
	defer bg.Wait()
	bctx, stopBG := context.WithCancel(ctx)
	defer stopBG()
	bg.Go(func() { _ = alerts.Run(bctx) })
	bg.Go(func() { _ = disks.Run(bctx) })
	bg.Go(func() { _ = mon.Run(bctx) })
	blind := newBlindReplacer(eng, log)
	bg.Go(func() { journalKeeperEvents(bctx, kc, store, alert.Flat{D: alerts}, log, blind) })
	bg.Go(func() { keeper.Watch(bctx, kcfg, keeperReporter(store, alert.Flat{D: alerts}, log)) })
	bg.Go(func() { capLogs(bctx, cfg.Home, int64(dc.Logs.MaxTotal), log) })
	bg.Go(func() { watchCerts(bctx, fc, store, alert.Flat{D: alerts}, log) })
	bg.Go(func() { dash.Run(bctx) })
	adm := startAdmin(dc.Admin.Listen, m, dash, log)
	if err := notify.Ready(); err != nil {
		log.Warn("telling systemd the daemon is ready", "err", err)
	}
	log.Info("berth daemon ready", "home", cfg.Home.Root, "socket", cfg.Home.Socket(), "restore", time.Since(start).Round(time.Millisecond))

	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("serving the control API: %w", err)
		}
	}
	re := up.reexec()
	// STOPPING=1 would put berth.service into stop-sigterm for good: the
	// re-executed image's READY=1 does not end that state, and systemd
	// kills the daemon after TimeoutStopSec. RELOADING=1 is what its
	// READY=1 does end (the same pid is the unit's main process).
	if re != nil {
		_ = notify.Reloading()
	} else {
		_ = notify.Stopping()
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	// After an upgrade the registration stays: should the new image die
	// before it registers, the front starts the old binary again.
	if re == nil {
		if err := fc.Release(sctx, os.Getpid()); err != nil {
			log.Warn("telling the front the daemon stops on purpose", "err", err)
		}
	}
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("shutting down the API", "err", err)
	}
	adm.close(sctx)
	if re != nil {
		log.Info("berth daemon stopped for the upgrade; re-executing", "binary", re.Exe)
		return re
	}
	log.Info("berth daemon stopped; agents keep running under the keeper, traffic through the front")
	return nil
}

// journalKeeperEvents copies the keeper's instance transitions (exits,
// restarts, crash loops) into the event journal. A crash loop raises one
// alert, resolved when the instance is stopped or starts over cleanly. An
// instance re-adopted without its output is handed to blind for
// replacement.
func journalKeeperEvents(ctx context.Context, kc *keeper.Client, store *state.Store, alerts monitor.Alerter, log *slog.Logger, blind *blindReplacer) {
	defer blind.Wait()
	// The cursor is in the store so a restarted daemon does not journal the
	// keeper's old events again under new numbers.
	after, err := store.KeeperEventSeq()
	if err != nil {
		log.Error("reading keeper event cursor", "err", err)
	}
	for ctx.Err() == nil {
		evs, err := kc.Events(ctx, after)
		if err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		for _, ev := range evs {
			after = ev.Seq
			app := ev.ID
			if id, err := instance.Parse(app); err == nil {
				app = id.App // "echo.blue.2" belongs to echo
			}
			_, fresh, err := store.ImportKeeperEvent(state.Event{Time: ev.Time, App: app, Kind: "instance." + ev.Kind,
				Message: ev.ID + ": " + ev.Message}, ev.Seq)
			if err != nil {
				log.Error("journaling keeper event", "err", err)
			}
			if err == nil && !fresh {
				continue
			}
			switch ev.Kind {
			case keeper.EventCrashloop:
				alerts.Fire("crashloop:"+ev.ID, alert.SeverityCritical, app, ev.ID+" is crash-looping: "+ev.Message, nil)
			case keeper.EventStopped, keeper.EventRemoved:
				alerts.Resolve("crashloop:" + ev.ID)
			case keeper.EventOutputLost:
				blind.replace(ctx, app)
			}
		}
	}
}

// keeperReporter journals the keeper's deaths and replacements as
// keeper.restarted events; a keeper crashing in a loop raises an alert,
// resolved once one stays up.
func keeperReporter(store *state.Store, alerts monitor.Alerter, log *slog.Logger) func(string, bool) {
	return func(msg string, loop bool) {
		log.Warn("keeper", "msg", msg)
		if _, err := store.AddEvent(state.Event{Time: time.Now(), Kind: "keeper.restarted", Message: msg}); err != nil {
			log.Error("journaling keeper event", "err", err)
		}
		if loop {
			alerts.Fire("keeper:crashloop", alert.SeverityCritical, "", "the keeper is crash-looping: "+msg, nil)
		} else {
			alerts.Resolve("keeper:crashloop")
		}
	}
}
