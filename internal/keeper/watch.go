package keeper

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-dev/berth/internal/process"
)

// Watch restarts the keeper of cfg.RunDir whenever it dies, until ctx ends.
// It holds a pidfd of the running keeper and polls it, so a death is seen
// within process.Tick, not at the next call. A keeper that dies again soon
// after its start is restarted at once the first time, then after a delay
// that doubles from 1 s to 32 s (a run of a minute resets it), so a keeper
// crashing in a loop never spins;
// agents keep serving meanwhile. report receives one line per death and
// per restart (for the event journal and alerts); loop is true while the
// keeper is crash-looping. Watch returns only when ctx ends.
func Watch(ctx context.Context, cfg EnsureConfig, report func(msg string, loop bool)) {
	delay := time.Duration(0)
	replaced, looping := false, false // a keeper died; whether it was quick again
	for ctx.Err() == nil {
		c, err := Ensure(ctx, cfg)
		if err != nil {
			delay = nextDelay(delay)
			report(fmt.Sprintf("keeper did not start: %v; next try in %s", err, delay), true)
			if !process.Sleep(ctx, delay) {
				return
			}
			continue
		}
		// Not a waiting call: should this keeper die already, the new one
		// is Watch's to start, so waiting for it here would wait forever.
		c.retry = false
		info, err := c.info(ctx)
		c.Close()
		pid := info.PID
		if err == nil && replaced {
			replaced = false
			report(recoveryLine(info), looping)
		}
		started := time.Now()
		if err == nil {
			if err := process.WaitExit(ctx, pid); err != nil {
				return
			}
		} else if ctx.Err() != nil {
			return
		}
		// (err != nil: it died as it started, before it said its pid.)
		ran := time.Since(started)
		if ran >= time.Minute {
			delay = 0
		}
		wait := delay // the first death is answered at once
		if ran < 10*time.Second {
			delay = nextDelay(delay)
		}
		replaced, looping = true, wait > 0
		who := fmt.Sprintf("keeper pid %d", pid)
		if err != nil {
			who = "a keeper that had just started"
		}
		report(fmt.Sprintf("%s died after %s; starting a new one in %s (the daemon holds %d agent pipes for it)", who, ran.Round(time.Millisecond), wait, cfg.Pipes.Len()), wait > 0)
		if !process.Sleep(ctx, wait) {
			return
		}
	}
}

func nextDelay(d time.Duration) time.Duration {
	if d == 0 {
		return time.Second
	}
	return min(2*d, 32*time.Second)
}

// recoveryLine says what a keeper that replaced a dead one did with the
// agents it found.
func recoveryLine(info keeperInfo) string {
	r := info.Recovery
	msg := fmt.Sprintf("new keeper pid %d: %d agents re-adopted with their output, %d re-adopted without it (pipes lost), %d stopped and started again",
		info.PID, r.Adopted, r.OutputLost, r.Restarted)
	if r.OutputLost > 0 {
		msg += "; output of those re-adopted without pipes is lost and cannot be counted"
	}
	return msg
}
