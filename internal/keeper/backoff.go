package keeper

import "time"

// Restart policy timings.
const (
	backoffMin     = time.Second      // first restart delay
	backoffMax     = 32 * time.Second // delays double up to this
	backoffReset   = 30 * time.Second // a run this long resets the delay
	shortRun       = 10 * time.Second // runs shorter than this count towards a crash loop
	crashloopAfter = 3                // short runs in a row that make a crash loop
)

// backoff decides restarts of one instance. Not safe for concurrent use; the
// instance's supervisor goroutine owns it.
type backoff struct {
	delay     time.Duration // last delay; 0 before the first restart
	shortRuns int           // runs in a row shorter than shortRun
}

// next decides, after a run that lasted ran and ended as ex, whether to
// restart under policy, after how long, and whether the instance is in a
// crash loop. A crash loop still restarts, at the max delay, so the keeper
// never gives up silently and never spins.
func (b *backoff) next(policy string, ex exitInfo, ran time.Duration) (delay time.Duration, restart, crashloop bool) {
	switch policy {
	case "always":
	case "on-failure":
		if !ex.failed() {
			return 0, false, false
		}
	default:
		return 0, false, false
	}
	if ran >= backoffReset {
		b.delay = 0
	}
	if ran < shortRun {
		b.shortRuns++
	} else {
		b.shortRuns = 0
	}
	switch {
	case b.delay == 0:
		b.delay = backoffMin
	default:
		b.delay = min(2*b.delay, backoffMax)
	}
	if b.shortRuns >= crashloopAfter {
		b.delay = backoffMax
		return b.delay, true, true
	}
	return b.delay, true, false
}
