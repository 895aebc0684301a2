package front

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// UpgradeConfig says how to replace a running front.
type UpgradeConfig struct {
	Front  EnsureConfig  // how the daemon starts fronts (RunDir, Args, LogFile)
	Exe    string        // the new binary
	Health time.Duration // how long the new front has to answer (0: 10 s)
	Budget time.Duration // the old front's drain budget (0: 30 s)
}

// Upgrade replaces the front of cfg.Front.RunDir by one started from
// cfg.Exe, with no instant in which the listening sockets are closed or
// unserved: the new front is handed held's duplicates (SCM_RIGHTS by
// inheritance) and serves them while it answers on next.sock; once it has
// answered within cfg.Health, the old front retires (stops accepting,
// drains its requests and streams for at most cfg.Budget, exits) and the
// new one is promoted to front.sock. A new front that exits or does not
// answer in time is killed, and the old one serves on untouched. It
// returns the new front's identity.
func Upgrade(ctx context.Context, cfg UpgradeConfig, held *Held) (Info, error) {
	if cfg.Health <= 0 {
		cfg.Health = 10 * time.Second
	}
	old, err := Dial(cfg.Front.RunDir, nil)
	if err != nil {
		return Info{}, fmt.Errorf("reaching the running front: %w", err)
	}
	ecfg := cfg.Front
	ecfg.Exe, ecfg.Args = cfg.Exe, append(append([]string(nil), cfg.Front.Args...), "--next")
	cmd, exited, err := spawnFrontCmd(ecfg, held)
	if err != nil {
		return Info{}, err
	}
	next := &Client{sock: filepath.Join(cfg.Front.RunDir, nextSockName), log: old.log}
	info, err := waitNext(ctx, next, exited, cfg.Health)
	if err != nil {
		abandon(cmd.Process, exited, next.sock)
		return Info{}, fmt.Errorf("starting the new front from %s: %w; the old front serves on (see %s)", cfg.Exe, err, cfg.Front.LogFile)
	}
	if err := old.Retire(ctx, cfg.Budget); err != nil {
		abandon(cmd.Process, exited, next.sock)
		return Info{}, fmt.Errorf("retiring the old front: %w; it serves on", err)
	}
	// From here the old front accepts nothing: the new one must stay.
	if err := next.Promote(ctx); err != nil {
		return info, fmt.Errorf("promoting the new front pid %d (it serves, but the daemon cannot reach it): %w", info.PID, err)
	}
	return info, nil
}

// waitNext waits for the new front to answer info, for at most limit.
func waitNext(ctx context.Context, next *Client, exited <-chan error, limit time.Duration) (Info, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		cctx, ccancel := context.WithTimeout(ctx, time.Second)
		info, _, err := next.Info(cctx)
		ccancel()
		if err == nil {
			return info, nil
		}
		select {
		case err := <-exited:
			return Info{}, fmt.Errorf("it exited before answering (%v)", err)
		case <-ctx.Done():
			return Info{}, fmt.Errorf("it did not answer within %s", limit)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// abandon kills a new front that failed its start and waits for it. One
// already waited for (waitNext read its exit) is not waited for again:
// that wait would last its whole 5 s bound (it did: a front that exited at
// once was refused after 5 s).
func abandon(p *os.Process, exited <-chan error, sock string) {
	defer os.Remove(sock)
	if err := p.Signal(syscall.SIGKILL); errors.Is(err, os.ErrProcessDone) {
		return
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
	}
}
