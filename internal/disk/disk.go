// Package disk watches filesystems for berth: used space, free bytes and
// inodes against warn/critical thresholds with hysteresis, and time-to-full
// projected from the recent growth rate, naming the biggest growers. Every
// statfs runs with a timeout, so a dead mount raises an alert instead of
// hanging berth.
package disk

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/alert"
	"github.com/berth-dev/berth/internal/config"
)

// Alerter receives the watcher's alerts; *alert.Dispatcher satisfies it.
type Alerter interface {
	Fire(alert.Alert)
	Resolve(key string)
}

// Options are the watcher's dependencies; zero values take the real ones.
type Options struct {
	Stat    StatFunc         // default Statfs
	Now     func() time.Time // default time.Now
	Growers func() []Grower  // what berth knows takes space; may be nil
	Alerts  Alerter          // may be nil: readings only
	Log     *slog.Logger
}

// Reading is the latest view of one watched filesystem.
type Reading struct {
	Path       string
	Time       time.Time
	Dev        uint64
	Total      uint64
	Avail      uint64  // bytes free to non-root users
	UsedPct    float64 // like df: used / (used + avail)
	InodesPct  float64 // -1 when the filesystem does not count inodes
	Rate       float64 // bytes per second, fitted; 0 until there is history
	TimeToFull time.Duration
	Filling    bool             // Rate > 0 and TimeToFull is projected
	Status     Level            // the worst condition in this reading (no hysteresis)
	Levels     map[string]Level // per condition, this reading
	Err        string           // statfs failure, "" when it answered
}

// Watcher checks each configured filesystem on its interval. It is safe
// for concurrent use; Check and Run serialize their checks.
type Watcher struct {
	opts    Options
	watches []*watch

	checkMu sync.Mutex // one check at a time: watches are not locked one by one

	mu       sync.Mutex
	readings []Reading
}

type watch struct {
	cfg     config.Disk
	next    time.Time
	dev     uint64 // 0 until the first stat answers
	pending chan statResult
	growth  window
	conds   map[string]*hysteresis
}

// New builds a watcher for disks (in priority order: the first watch of a
// filesystem wins and later watches of the same device are skipped).
func New(disks []config.Disk, opts Options) *Watcher {
	if opts.Stat == nil {
		opts.Stat = Statfs
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{opts: opts}
	for _, d := range disks {
		wt := &watch{cfg: d, conds: map[string]*hysteresis{},
			growth: window{span: d.Window.Duration, limit: 4096}}
		for _, c := range []string{CondUsed, CondFree, CondInodes, CondTimeToFull, CondStatfs} {
			wt.conds[c] = &hysteresis{need: max(d.For, 1)}
		}
		w.watches = append(w.watches, wt)
	}
	return w
}

// Run checks every watch on its interval until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	for {
		now := w.opts.Now()
		next := now.Add(time.Hour)
		var due []*watch
		for _, wt := range w.watches {
			if !wt.next.After(now) {
				due = append(due, wt)
				wt.next = now.Add(wt.cfg.Interval.Duration)
			}
			next = minTime(next, wt.next)
		}
		if len(due) > 0 {
			w.check(ctx, due)
		}
		t := time.NewTimer(next.Sub(w.opts.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Check checks every watch once, raises and resolves alerts as Run would,
// and returns the readings (one per filesystem).
func (w *Watcher) Check(ctx context.Context) []Reading {
	w.check(ctx, w.watches)
	return w.Readings()
}

// Readings returns the latest reading of every watched filesystem.
func (w *Watcher) Readings() []Reading {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.readings)
}

func (w *Watcher) check(ctx context.Context, due []*watch) {
	w.checkMu.Lock()
	defer w.checkMu.Unlock()
	// Stat the due watches in parallel: one hung mount must not delay the
	// others by its timeout.
	results := make([]statResult, len(due))
	var wg sync.WaitGroup
	for i, wt := range due {
		wg.Go(func() {
			st, err := wt.statWithTimeout(ctx, w.opts.Stat, wt.cfg.Timeout.Duration)
			results[i] = statResult{st, err}
		})
	}
	wg.Wait()
	byPath := map[string]Reading{}
	for _, r := range w.Readings() {
		byPath[r.Path] = r
	}
	for i, wt := range due {
		if ctx.Err() != nil {
			return
		}
		if results[i].err == nil {
			wt.dev = results[i].st.Dev
		}
		if w.shadowed(wt) {
			delete(byPath, wt.cfg.Path)
			continue
		}
		byPath[wt.cfg.Path] = w.judge(ctx, wt, results[i])
	}
	w.mu.Lock()
	w.readings = w.readings[:0]
	for _, wt := range w.watches {
		if r, ok := byPath[wt.cfg.Path]; ok {
			w.readings = append(w.readings, r)
		}
	}
	w.mu.Unlock()
}

// shadowed says an earlier watch covers the same filesystem.
func (w *Watcher) shadowed(wt *watch) bool {
	if wt.dev == 0 {
		return false
	}
	for _, o := range w.watches {
		if o == wt {
			return false
		}
		if o.dev == wt.dev {
			return true
		}
	}
	return false
}

// judge turns one stat result into a reading and feeds each condition's
// hysteresis, firing or resolving alerts on a change.
func (w *Watcher) judge(ctx context.Context, wt *watch, res statResult) Reading {
	now := w.opts.Now()
	r := Reading{Path: wt.cfg.Path, Time: now, InodesPct: -1, Levels: map[string]Level{}}
	if res.err != nil {
		r.Err = res.err.Error()
		r.Status = LevelCritical
		r.Levels[CondStatfs] = LevelCritical
		w.feed(ctx, wt, CondStatfs, LevelCritical, r, fmt.Sprintf("cannot read %s: %v", wt.cfg.Path, res.err))
		return r
	}
	w.feed(ctx, wt, CondStatfs, LevelOK, r, "")
	st := res.st
	used := st.Total - min(st.Free, st.Total)
	r.Dev, r.Total, r.Avail = st.Dev, st.Total, st.Avail
	if used+st.Avail > 0 {
		r.UsedPct = 100 * float64(used) / float64(used+st.Avail)
	}
	if st.Files > 0 {
		r.InodesPct = 100 * float64(st.Files-min(st.FilesFree, st.Files)) / float64(st.Files)
	}
	wt.growth.add(Sample{Time: now, Used: used})
	proj, ok := Projection{}, false
	if wt.growth.ready() {
		proj, ok = Project(wt.growth.samples, st.Avail)
	}
	r.Rate, r.TimeToFull, r.Filling = proj.Rate, proj.TimeToFull, ok && proj.Filling

	c := wt.cfg
	r.Levels[CondUsed] = pctLevel(r.UsedPct, c.Warn, c.Critical)
	r.Levels[CondFree] = freeLevel(st.Avail, c.WarnFree, c.CriticalFree)
	r.Levels[CondInodes] = LevelOK
	if r.InodesPct >= 0 {
		r.Levels[CondInodes] = pctLevel(r.InodesPct, c.InodesWarn, c.InodesCritical)
	}
	r.Levels[CondTimeToFull] = ttfLevel(proj, ok, c.TimeToFull)
	for _, cond := range []string{CondUsed, CondFree, CondInodes, CondTimeToFull} {
		r.Status = max(r.Status, r.Levels[cond])
		w.feed(ctx, wt, cond, r.Levels[cond], r, w.summary(cond, r))
	}
	return r
}

// feed moves one condition's hysteresis and tells the alerter on a change.
func (w *Watcher) feed(ctx context.Context, wt *watch, cond string, l Level, r Reading, summary string) {
	fired, changed := wt.conds[cond].observe(l)
	if !changed || w.opts.Alerts == nil {
		return
	}
	key := "disk:" + wt.cfg.Path + ":" + cond
	if fired == LevelOK {
		w.opts.Alerts.Resolve(key)
		return
	}
	details := r.details()
	if cond == CondTimeToFull {
		w.addGrowers(ctx, wt, details)
	}
	w.opts.Alerts.Fire(alert.Alert{Key: key, Severity: fired.String(), Summary: summary, Details: details, Time: r.Time})
}
