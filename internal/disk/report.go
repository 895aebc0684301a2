package disk

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// summary is the alert's one line for a condition.
func (w *Watcher) summary(cond string, r Reading) string {
	switch cond {
	case CondUsed:
		return fmt.Sprintf("%s is %.1f%% full (%s free)", r.Path, r.UsedPct, FormatBytes(float64(r.Avail)))
	case CondFree:
		return fmt.Sprintf("%s has only %s free", r.Path, FormatBytes(float64(r.Avail)))
	case CondInodes:
		return fmt.Sprintf("%s has used %.1f%% of its inodes", r.Path, r.InodesPct)
	case CondTimeToFull:
		return fmt.Sprintf("%s will be full in %s at %s/h", r.Path, FormatDuration(r.TimeToFull), FormatBytes(r.Rate*3600))
	}
	return r.Path
}

// details are the structured fields every disk alert carries.
func (r Reading) details() map[string]string {
	d := map[string]string{
		"path":       r.Path,
		"used_pct":   strconv.FormatFloat(r.UsedPct, 'f', 1, 64),
		"avail":      strconv.FormatUint(r.Avail, 10),
		"total":      strconv.FormatUint(r.Total, 10),
		"status":     r.Status.String(),
		"inodes_pct": strconv.FormatFloat(r.InodesPct, 'f', 1, 64),
	}
	if r.Filling {
		d["time_to_full"] = r.TimeToFull.Round(time.Second).String()
		d["growth_per_hour"] = strconv.FormatFloat(r.Rate*3600, 'f', 0, 64)
	}
	if r.Err != "" {
		d["error"] = r.Err
	}
	return d
}

// addGrowers names up to three of berth's growers on the watched
// filesystem, fastest growing first (then biggest).
func (w *Watcher) addGrowers(ctx context.Context, wt *watch, details map[string]string) {
	if w.opts.Growers == nil {
		return
	}
	var on []Grower
	for _, g := range w.opts.Growers() {
		if ctx.Err() != nil {
			return
		}
		var st unix.Stat_t
		if unix.Stat(g.Path, &st) == nil && wt.dev != 0 && st.Dev != wt.dev {
			continue
		}
		on = append(on, g)
	}
	slices.SortFunc(on, func(a, b Grower) int {
		return cmp.Or(cmp.Compare(b.Growth, a.Growth), cmp.Compare(b.Bytes, a.Bytes))
	})
	for i, g := range on[:min(3, len(on))] {
		v := FormatBytes(float64(g.Bytes))
		if g.Growth > 0 {
			v += ", +" + FormatBytes(g.Growth) + "/h"
		}
		details[fmt.Sprintf("grower_%d", i+1)] = fmt.Sprintf("%s (%s): %s", g.Name, g.Path, v)
	}
}

// FormatBytes writes a size with a decimal unit, like "1.5GB".
func FormatBytes(b float64) string {
	units := []string{"B", "KB", "MB", "GB", "TB", "PB"}
	i := 0
	for math.Abs(b) >= 1000 && i < len(units)-1 {
		b /= 1000
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(b, 'f', 0, 64) + "B"
	}
	return strconv.FormatFloat(b, 'f', 1, 64) + units[i]
}

// FormatDuration writes a time-to-full a human reads at a glance: "3d4h",
// "5h12m", "42m".
func FormatDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), (d%(24*time.Hour))/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", d/time.Hour, (d%time.Hour)/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}
