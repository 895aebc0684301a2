package disk

import "github.com/berth-dev/berth/internal/config"

// Level is how bad one condition is.
type Level int

// Levels, in order.
const (
	LevelOK Level = iota
	LevelWarning
	LevelCritical
)

// String names the level as statuses and alerts do.
func (l Level) String() string {
	return [...]string{"ok", "warning", "critical"}[l]
}

// Conditions a watch judges; each is its own alert key "disk:<path>:<cond>".
const (
	CondUsed       = "used"
	CondFree       = "free"
	CondInodes     = "inodes"
	CondTimeToFull = "time_to_full"
	CondStatfs     = "statfs"
)

// hysteresis holds a condition's fired level and its last levels. It moves
// up to L only when each of the last `for` checks was at least L, and down
// to L only when each was at most L, so a value hovering at a line (or
// between warning and critical) does not flap.
type hysteresis struct {
	need  int
	hist  []Level
	fired Level
}

// observe records l and returns the new fired level and whether it changed.
func (h *hysteresis) observe(l Level) (Level, bool) {
	h.hist = append(h.hist, l)
	if len(h.hist) > h.need {
		h.hist = h.hist[1:]
	}
	if len(h.hist) < h.need {
		return h.fired, false
	}
	lo, hi := h.hist[0], h.hist[0]
	for _, x := range h.hist[1:] {
		lo, hi = min(lo, x), max(hi, x)
	}
	switch {
	case lo > h.fired:
		h.fired = lo
	case hi < h.fired:
		h.fired = hi
	default:
		return h.fired, false
	}
	return h.fired, true
}

func pctLevel(pct float64, warn, crit config.Percent) Level {
	switch {
	case crit > 0 && pct >= float64(crit):
		return LevelCritical
	case warn > 0 && pct >= float64(warn):
		return LevelWarning
	}
	return LevelOK
}

func freeLevel(avail uint64, warn, crit config.ByteSize) Level {
	switch {
	case crit > 0 && avail < uint64(crit):
		return LevelCritical
	case warn > 0 && avail < uint64(warn):
		return LevelWarning
	}
	return LevelOK
}

// ttfLevel: warning when full within the horizon, critical within a
// quarter of it (for a 24h horizon: 6h, time for a human to act).
func ttfLevel(p Projection, ok bool, horizon config.Duration) Level {
	if !ok || !p.Filling || horizon.Duration <= 0 {
		return LevelOK
	}
	switch {
	case p.TimeToFull <= horizon.Duration/4:
		return LevelCritical
	case p.TimeToFull <= horizon.Duration:
		return LevelWarning
	}
	return LevelOK
}
