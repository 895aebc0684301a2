package monitor

import (
	"sync"
	"time"
)

// Restart damping: the first restart is immediate, each further one within
// dampReset of the previous waits twice as long, up to dampMax.
const (
	dampFirst = 30 * time.Second
	dampMax   = 10 * time.Minute
	dampReset = 10 * time.Minute
)

// damper spaces out the restarts of one instance so a flapping check cannot
// restart it in a loop.
type damper struct {
	mu      sync.Mutex
	last    time.Time
	backoff time.Duration
}

// allow reports 0 when a restart may happen now (and records it), else how
// long until the next one may.
func (d *damper) allow(now time.Time) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last.IsZero() || now.Sub(d.last) > dampReset {
		d.last, d.backoff = now, dampFirst
		return 0
	}
	if next := d.last.Add(d.backoff); now.Before(next) {
		return next.Sub(now)
	}
	d.last = now
	d.backoff = min(2*d.backoff, dampMax)
	return 0
}

// recovered lets a healthy instance start over after dampReset.
func (d *damper) recovered(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.last.IsZero() && now.Sub(d.last) > dampReset {
		d.last = time.Time{}
	}
}
