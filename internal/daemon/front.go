package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/internal/alert"
	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/front"
	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/monitor"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
)

// frontCallTimeout bounds one route change on the front.
const frontCallTimeout = 15 * time.Second

// frontConfig says how the daemon starts the front of h, as user (nil:
// as the daemon's own user).
func frontConfig(h home.Layout, exe string, user *front.User) front.EnsureConfig {
	dir := filepath.Join(h.RunDir(), "front")
	return front.EnsureConfig{RunDir: dir, Exe: exe, Args: []string{"front", "--run-dir", dir},
		LogFile: filepath.Join(h.Root, "logs", "front.log"), User: user, Owned: []string{certsDir(h)}}
}

// certsDir is the front door's certificate storage.
func certsDir(h home.Layout) string { return filepath.Join(h.Root, "certs") }

// remoteFront is deploy.Front over a `berth front` process: routes live
// there and keep serving when the daemon dies. The daemon holds a
// duplicate of every route's listening socket (held), refreshed after
// each change, so a front's death closes none. Safe for concurrent use.
type remoteFront struct {
	c    *front.Client
	held *front.Held
	// inherited returns a socket systemd passed for app (socket
	// activation), or nil.
	inherited func(app, addr string) net.Listener
	log       *slog.Logger
	// door is daemon.toml's front door, given to every front attached.
	door front.DoorSpec
	// files gives an unprivileged front copies of what it cannot read.
	files frontFiles
}

// Route implements deploy.Front. The front adopts a route it already
// serves on the same spec: no listener is recreated.
func (f *remoteFront) Route(app string, svc spec.Service) (deploy.Proxy, error) {
	ctx, cancel := context.WithTimeout(context.Background(), frontCallTimeout)
	defer cancel()
	rs, err := routeSpec(app, svc, f.files)
	if err != nil {
		return nil, fmt.Errorf("routing %s (%s): %w", app, routeWhere(svc), err)
	}
	var sock *os.File
	if f.inherited != nil {
		if l := f.inherited(app, svc.Listen); l != nil {
			s, err := front.ListenerFile(l)
			l.Close() // the front gets its own; systemd keeps one
			if err != nil {
				return nil, fmt.Errorf("listening on %s for %s: %w", svc.Listen, app, err)
			}
			sock = s
		}
	}
	r, err := f.c.Route(ctx, app, rs, sock)
	if sock != nil {
		sock.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("routing %s (%s): %w", app, routeWhere(svc), err)
	}
	if err := f.refresh(ctx, f.c); err != nil {
		f.log.Warn("holding the front's sockets", "err", err)
	}
	return r, nil
}

// Remove implements deploy.Front.
func (f *remoteFront) Remove(app string) {
	ctx, cancel := context.WithTimeout(context.Background(), frontCallTimeout)
	defer cancel()
	if err := f.c.Remove(ctx, app); err != nil {
		f.log.Error("removing the route of an app", "app", app, "err", err)
	}
	f.held.Drop(app)
}

// Close implements deploy.Front: the front keeps serving.
func (f *remoteFront) Close() error { return nil }

// refresh replaces the held sockets with duplicates of c's.
func (f *remoteFront) refresh(ctx context.Context, c *front.Client) error {
	socks, err := c.Listeners(ctx)
	if err != nil {
		return fmt.Errorf("reading the front's sockets: %w", err)
	}
	f.held.Replace(socks)
	return nil
}

// selfRestart is how the front restarts this daemon should it die; nil
// when another supervisor does (systemd, or --supervised).
type selfRestart struct{ spec front.DaemonSpec }

// newSelfRestart returns the daemon's restart spec for argv, or nil when
// argv is nil or systemd runs the daemon (INVOCATION_ID, NOTIFY_SOCKET):
// Restart=always does it there, and two supervisors would fight. Call it
// before the notify socket is taken from the environment.
func newSelfRestart(argv []string) *selfRestart {
	if len(argv) == 0 || os.Getenv("INVOCATION_ID") != "" || os.Getenv("NOTIFY_SOCKET") != "" {
		return nil
	}
	dir, _ := os.Getwd()
	return &selfRestart{spec: front.DaemonSpec{PID: os.Getpid(), Exe: argv[0], Args: argv[1:], Env: os.Environ(), Dir: dir}}
}

// attach is what the daemon does with every front it finds or starts:
// hold its sockets, and register for restarts when sr is not nil.
func (f *remoteFront) attach(sr *selfRestart) func(context.Context, *front.Client) error {
	return func(ctx context.Context, c *front.Client) error {
		if err := c.Door(ctx, f.door); err != nil {
			f.log.Error("front door", "err", err)
		}
		if err := f.refresh(ctx, c); err != nil {
			return err
		}
		if sr == nil {
			return nil
		}
		return c.Supervise(ctx, sr.spec, os.Stdout, os.Stderr)
	}
}

// frontReporter journals the front's deaths and replacements as
// front.restarted events; a front crashing in a loop raises an alert,
// resolved once one stays up.
func frontReporter(store *state.Store, alerts monitor.Alerter, log *slog.Logger) func(string, bool) {
	return func(msg string, loop bool) {
		log.Warn("front", "msg", msg)
		if _, err := store.AddEvent(state.Event{Time: time.Now(), Kind: "front.restarted", Message: msg}); err != nil {
			log.Error("journaling front event", "err", err)
		}
		if loop {
			alerts.Fire("front:crashloop", alert.SeverityCritical, "", "the front is crash-looping: "+msg, nil)
		} else {
			alerts.Resolve("front:crashloop")
		}
	}
}

// version reports the front's version for berth version.
func (f *remoteFront) version(ctx context.Context) (api.PeerVersion, error) {
	info, _, err := f.c.Info(ctx)
	if err != nil {
		return api.PeerVersion{}, fmt.Errorf("asking the front: %w", err)
	}
	return api.PeerVersion{Version: info.Version, Build: info.Build, PID: info.PID}, nil
}
