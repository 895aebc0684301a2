package front

import (
	"time"
)

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
