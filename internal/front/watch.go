package front

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-dev/berth/internal/process"
)

// Watch keeps a front serving for the caller (the daemon) until ctx ends.
// It holds a pidfd of the running front, so a death is seen within
// process.Tick; a new front is started at once, handed held's duplicates of
// the listening sockets (the kernel queued new connections on them
// meanwhile), and serves its persisted routes. attached runs for every
// front Watch finds or starts (the daemon registers itself there); its
// error is reported, not fatal. A front dying again soon after its start
// is restarted after a delay doubling from 1 s to 32 s. report receives
// one line per death and per failed start; loop is true while the front
// is crash-looping. Watch returns only when ctx ends.
func Watch(ctx context.Context, cfg EnsureConfig, held *Held, attached func(context.Context, *Client) error, report func(msg string, loop bool)) {
	var b backoff
	for ctx.Err() == nil {
		c, err := Ensure(ctx, cfg, held)
		if err != nil {
			wait, _ := b.next(0)
			wait = max(wait, time.Second)
			report(fmt.Sprintf("front did not start: %v; next try in %s", err, wait), true)
			if !process.Sleep(ctx, wait) {
				return
			}
			continue
		}
		info, _, err := c.Info(ctx)
		if err != nil {
			continue
		}
		if err := attached(ctx, c); err != nil && ctx.Err() == nil {
			report(fmt.Sprintf("attaching to front pid %d: %v", info.PID, err), false)
		}
		started := time.Now()
		if err := process.WaitExit(ctx, info.PID); err != nil {
			return
		}
		ran := time.Since(started)
		wait, loop := b.next(ran)
		report(fmt.Sprintf("front pid %d died after %s; starting a new one in %s", info.PID, ran.Round(time.Millisecond), wait), loop)
		if !process.Sleep(ctx, wait) {
			return
		}
	}
}
