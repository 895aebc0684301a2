package front

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// watchTick bounds how late a death or ctx's end is noticed.
const watchTick = 200 * time.Millisecond

// waitExit returns nil once pid has exited, ctx's error once ctx ends. It
// polls a pidfd, so it works for processes that are not its children and
// is not fooled by a reused pid.
func waitExit(ctx context.Context, pid int) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return waitExitKill0(ctx, pid) // kernel without pidfd
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for ctx.Err() == nil {
		n, err := unix.Poll(fds, int(watchTick/time.Millisecond))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return waitExitKill0(ctx, pid)
		}
		if n > 0 {
			return nil
		}
	}
	return ctx.Err()
}

func waitExitKill0(ctx context.Context, pid int) error {
	for unix.Kill(pid, 0) == nil {
		if !sleepCtx(ctx, watchTick) {
			return ctx.Err()
		}
	}
	return nil
}

// backoff spaces restarts of a process that keeps dying: a death after a
// run shorter than shortRun is answered at once up to quickTries times in
// a row (a kill -9 now and then is not a loop), then after a delay that
// doubles from 1 s to 32 s; a run of resetAfter resets it. Not safe for
// concurrent use.
type backoff struct {
	short int // short runs in a row
	delay time.Duration
}

const (
	shortRun   = 10 * time.Second
	resetAfter = time.Minute
	maxDelay   = 32 * time.Second
	quickTries = 3
)

// next returns how long to wait before the restart that follows a run of
// ran, and whether the process is crash-looping (the wait is not zero).
func (b *backoff) next(ran time.Duration) (wait time.Duration, loop bool) {
	switch {
	case ran >= resetAfter:
		b.short, b.delay = 0, 0
	case ran < shortRun:
		b.short++
	}
	if b.short <= quickTries {
		return 0, false
	}
	if b.delay == 0 {
		b.delay = time.Second
	} else {
		b.delay = min(2*b.delay, maxDelay)
	}
	return b.delay, true
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
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
