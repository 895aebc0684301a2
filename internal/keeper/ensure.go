package keeper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/process"
)

// dialTimeout bounds one attempt to reach a keeper.
const dialTimeout = 5 * time.Second

// ensureWait is how long Ensure waits for a keeper it started, when ctx has
// no deadline. Recovery of a previous keeper's agents happens before the
// socket appears and can take a stop timeout.
const ensureWait = 2 * time.Minute

// EnsureConfig says how to start a keeper.
type EnsureConfig struct {
	RunDir  string   // the keeper's run directory
	Exe     string   // the keeper's executable, e.g. /proc/self/exe
	Args    []string // its arguments, e.g. keeper --run-dir DIR
	LogFile string   // the keeper's stdout and stderr, appended
	// Pipes, when set, holds the agents' pipe read ends while no keeper
	// does; a keeper started by Ensure inherits them. Run it (Pipes.Run)
	// for as long as the caller lives.
	Pipes *PipeStash
}

// Ensure returns a client for the keeper of cfg.RunDir, starting one when
// none answers. The keeper runs detached in its own session, so it survives
// SIGKILL of the caller and of the caller's process group. Callers racing
// on one run directory (two daemons) start at most one keeper: they take
// turns on RunDir/ensure.lock, and a keeper also holds RunDir/keeper.lock
// for its whole life. Safe for concurrent use.
func Ensure(ctx context.Context, cfg EnsureConfig) (*Client, error) {
	if c, err := Dial(cfg.RunDir); err == nil {
		return c, nil
	}
	if err := os.MkdirAll(cfg.RunDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating run directory: %w", err)
	}
	lock, err := process.WaitLock(ctx, filepath.Join(cfg.RunDir, "ensure.lock"), 20*time.Millisecond)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if c, err := Dial(cfg.RunDir); err == nil {
		return c, nil // the caller we waited for started it
	}
	exited, err := startKeeper(cfg)
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ensureWait)
		defer cancel()
	}
	for {
		if c, err := Dial(cfg.RunDir); err == nil {
			return c, nil
		}
		select {
		case err := <-exited:
			if keeperLockHeld(cfg.RunDir) {
				// Lost the lock to a keeper that is still recovering; wait for it.
				exited = nil
				continue
			}
			return nil, fmt.Errorf("starting keeper: exited before serving (%v); see %s", err, cfg.LogFile)
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for keeper socket: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// startKeeper starts the keeper process detached. It stays the caller's
// child only in name: a goroutine reaps it should it exit while the caller
// lives, and once the caller dies it is re-parented.
func startKeeper(cfg EnsureConfig) (<-chan error, error) {
	logf, err := os.OpenFile(cfg.LogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening keeper log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(cfg.Exe, cfg.Args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/" // hold no directory the caller may want to remove
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if cfg.Pipes != nil {
		// Descriptors 3, 4, ...: the new keeper re-adopts the runs whose
		// pipes it recognizes (by inode) and reads on where the dead one
		// stopped.
		if files := cfg.Pipes.Files(); len(files) > 0 {
			cmd.ExtraFiles = files
			cmd.Env = append(os.Environ(), inheritEnv+"="+strconv.Itoa(len(files)))
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting keeper %s: %w", cfg.Exe, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return exited, nil
}

// keeperLockHeld reports whether a live keeper holds RunDir/keeper.lock.
func keeperLockHeld(runDir string) bool {
	f, err := os.Open(filepath.Join(runDir, lockName))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}
