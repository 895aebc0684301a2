// Package process holds what berth's long-lived processes (keeper, front,
// daemon) share to watch each other and keep their files: waiting for a
// process that is not a child to exit, sleeping that honours a context,
// replacing a file atomically, and taking a lock file in turns.
package process

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// Tick bounds how late WaitExit notices a death or ctx's end.
const Tick = 200 * time.Millisecond

// WaitExit returns nil once pid has exited, ctx's error once ctx ends. It
// polls a pidfd, so it works for processes that are not its children and
// is not fooled by a reused pid; without pidfd it polls kill(pid, 0).
func WaitExit(ctx context.Context, pid int) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return waitKill0(ctx, pid)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for ctx.Err() == nil {
		n, err := unix.Poll(fds, int(Tick/time.Millisecond))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return waitKill0(ctx, pid)
		}
		if n > 0 {
			return nil
		}
	}
	return ctx.Err()
}

func waitKill0(ctx context.Context, pid int) error {
	for unix.Kill(pid, 0) == nil {
		if !Sleep(ctx, Tick) {
			return ctx.Err()
		}
	}
	return nil
}

// Sleep waits d and reports true, or false as soon as ctx ends.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
