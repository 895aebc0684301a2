package front

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/process"
)

// ensureWait is how long Ensure waits for a front it started to answer.
const ensureWait = 30 * time.Second

// EnsureConfig says how to start a front.
type EnsureConfig struct {
	RunDir  string   // the front's run directory
	Exe     string   // berth's binary
	Args    []string // its arguments, e.g. front --run-dir DIR
	LogFile string   // the front's stdout and stderr, appended
	// User, when not nil, is who the front runs as (a root daemon's
	// front): its uid and gid, with CAP_NET_BIND_SERVICE only. Every
	// front started for this config (after a crash, by berth upgrade)
	// gets the same. nil: the caller's own credentials.
	User *User
	// Owned lists the directories the front writes besides RunDir (the
	// certificate storage); with User they are made the user's (Own).
	Owned []string
}

// Ensure returns a client for the front of cfg.RunDir, starting one when
// none answers. A started front is handed a duplicate of every socket held
// holds (may be nil), so it serves them instead of binding: a socket that
// outlived the previous front keeps its queued connections. The front runs
// detached in its own session and survives the caller. Callers racing on
// one run directory start at most one front (RunDir/ensure.lock, and the
// front's own front.lock). Safe for concurrent use.
func Ensure(ctx context.Context, cfg EnsureConfig, held *Held) (*Client, error) {
	if c, err := Dial(cfg.RunDir, nil); err == nil {
		return c, nil
	}
	if err := os.MkdirAll(cfg.RunDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating run directory: %w", err)
	}
	lock, err := process.WaitLock(ctx, filepath.Join(cfg.RunDir, "ensure.lock"), 10*time.Millisecond)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if c, err := Dial(cfg.RunDir, nil); err == nil {
		return c, nil // the caller we waited for started it
	}
	exited, err := spawnFront(cfg, held)
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ensureWait)
		defer cancel()
	}
	for {
		if c, err := Dial(cfg.RunDir, nil); err == nil {
			return c, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("starting front: exited before serving (%v); see %s", err, cfg.LogFile)
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the front's socket: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// spawnFront starts the front detached, with held's sockets as
// descriptors 3, 4, ... named in ListenersEnv. A goroutine reaps it should
// it exit while the caller lives.
func spawnFront(cfg EnsureConfig, held *Held) (<-chan error, error) {
	_, exited, err := spawnFrontCmd(cfg, held)
	return exited, err
}

// spawnFrontCmd is spawnFront that also returns the started command.
func spawnFrontCmd(cfg EnsureConfig, held *Held) (*exec.Cmd, <-chan error, error) {
	var apps []string
	var files []*os.File
	if held != nil {
		var err error
		if apps, files, err = held.dups(); err != nil {
			return nil, nil, err
		}
	}
	defer closeAll(files) // the child has its own
	if err := Own(cfg); err != nil {
		return nil, nil, err
	}
	logf, err := os.OpenFile(cfg.LogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, nil, fmt.Errorf("opening front log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(cfg.Exe, cfg.Args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/"
	cmd.ExtraFiles = files
	cmd.Env = append(withoutEnv(withoutEnv(os.Environ(), ListenersEnv), dropEnv), ListenersEnv+"="+strings.Join(apps, ","))
	if cfg.User != nil {
		cmd.Env = append(cmd.Env, dropEnv+"=1")
	}
	cmd.SysProcAttr = procAttr(cfg.User)
	if err := cmd.Start(); err != nil {
		if cfg.User != nil && errors.Is(err, fs.ErrPermission) {
			return nil, nil, fmt.Errorf("starting front %s as user %s: %w; the binary and every directory above it must be readable and executable by that user (install berth in /usr/local/bin), or set [front] user", cfg.Exe, cfg.User.Name, err)
		}
		return nil, nil, fmt.Errorf("starting front %s: %w", cfg.Exe, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return cmd, exited, nil
}

func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
