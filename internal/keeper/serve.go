package keeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/process"
)

// Config configures Serve.
type Config struct {
	RunDir string       // holds keeper.sock, keeper.pid, keeper.lock, state.json
	Logger *slog.Logger // the keeper's own log; nil discards
	// NoCgroups makes the keeper contain agents without cgroups even where
	// it could use them, as on a host without delegation (tests use it).
	NoCgroups bool
}

// File names in the run directory.
const (
	sockName  = "keeper.sock"
	pidName   = "keeper.pid"
	lockName  = "keeper.lock"
	stateName = "state.json"
)

// Serve is the keeper process's main loop: it takes RunDir/keeper.lock
// (ErrKeeperRunning when another keeper holds it), becomes a child
// subreaper, hands pipe read ends out on RunDir/pipes.sock, recovers the
// instances of state.json (re-adopting what still runs, with the pipes
// inherited through BERTH_KEEPER_PIPES), writes keeper.pid and serves the
// protocol on RunDir/keeper.sock (mode 0600) until ctx is done.
// Ending ctx does not stop agents: they keep running and the next keeper
// recovers them, so a keeper is only replaced on purpose. Serve must be
// called once per process: it reaps every child of the process.
func Serve(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.RunDir, 0o700); err != nil {
		return fmt.Errorf("creating run directory: %w", err)
	}
	inh := takeInherited(log) // before anything can fork: close-on-exec
	lock, err := lockFile(filepath.Join(cfg.RunDir, lockName))
	if err != nil {
		return err
	}
	defer lock.Close() // releases the flock

	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		log.Warn("cannot become child subreaper; daemonizing grandchildren go to init", "err", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	k := &keeper{
		ctx: ctx, runDir: cfg.RunDir, log: log, reaper: newReaper(), pipes: newPipeShare(log),
		startedAt: time.Now(), instances: make(map[string]*instance),
	}
	reaped := make(chan struct{})
	go func() { defer close(reaped); k.reaper.run(ctx) }()
	defer func() { cancel(); <-reaped }()

	switch k.cg, err = detectCgroups(); {
	case cfg.NoCgroups:
		k.cg = cgroups{}
		log.Info("cgroups turned off; containing agents by process group and lineage")
	case err != nil:
		log.Info("cgroup v2 delegation not available; containing agents by process group and lineage", "reason", err)
	default:
		log.Info("cgroup v2 available; one cgroup per instance", "base", k.cg.base)
	}
	if !cfg.NoCgroups {
		k.lim = detectLimits(k.cg)
		log.Info("resource limits", "where", k.lim.String())
	}
	if k.cg.base == "" {
		tracked := make(chan struct{})
		go func() { defer close(tracked); k.trackLineages(ctx) }()
		defer func() { cancel(); <-tracked }()
	}
	s, err := loadState(filepath.Join(cfg.RunDir, stateName))
	if err != nil {
		return err
	}
	k.events = newEventLog(s.Seq, time.Now())
	pl, err := listenPipes(filepath.Join(cfg.RunDir, pipesName))
	if err != nil {
		return err
	}
	k.recoverState(s, inh)
	// Only now: a holder's "synced" must follow every pipe recovery took.
	go k.pipes.serve(ctx, pl)

	if err := process.WriteFileAtomic(filepath.Join(cfg.RunDir, pidName), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing pid file: %w", err)
	}
	l, err := listen(filepath.Join(cfg.RunDir, sockName))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: k.routes(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	log.Info("keeper started", "pid", os.Getpid(), "run_dir", cfg.RunDir, "instances", len(s.Instances))

	select {
	case err = <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("keeper stopping; agents keep running")
	shut, cancelShut := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelShut()
	if err := srv.Shutdown(shut); err != nil {
		srv.Close()
	}
	return nil
}

// lockFile takes an exclusive flock on path, held until the file is closed
// (or the process dies, which is what makes a stale lock impossible).
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("locking %s: %w", path, ErrKeeperRunning)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return f, nil
}

// listen binds the socket under a temporary name, sets mode 0600 and renames
// it into place, so no client can ever connect while it is more open.
func listen(path string) (net.Listener, error) {
	tmp := path + ".tmp-" + strconv.Itoa(os.Getpid())
	os.Remove(tmp)
	l, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", tmp, err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("setting socket mode: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		l.Close()
		return nil, fmt.Errorf("placing socket: %w", err)
	}
	return l, nil
}
