package logs

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// EnforceTotal keeps the rotated files of every log under dirs (one
// directory per app, each holding <instance>.log files) under max bytes in
// all, by deleting the oldest rotated files across every app first: the
// host-wide cap, on top of each app's own max_total. Live files are never
// touched, so no agent loses the line it is writing. It returns the number
// of files removed.
func EnforceTotal(dirs []string, max int64) (int, error) {
	if max <= 0 {
		return 0, nil
	}
	var all []rotated
	var total int64
	for _, dir := range dirs {
		lives, err := filepath.Glob(filepath.Join(dir, "*.log"))
		if err != nil {
			return 0, err
		}
		for _, live := range lives {
			if fi, err := os.Stat(live); err == nil {
				total += fi.Size()
			}
			rot, err := listRotated(live)
			if err != nil {
				return 0, err
			}
			for _, r := range rot {
				total += r.size
			}
			all = append(all, rot...)
		}
	}
	slices.SortFunc(all, func(a, b rotated) int { return a.time.Compare(b.time) })
	removed := 0
	for _, r := range all {
		if total <= max {
			break
		}
		for _, name := range []string{r.base, r.base + gzExt} {
			if err := os.Remove(name); err != nil && !os.IsNotExist(err) {
				return removed, fmt.Errorf("removing %s for the global log cap: %w", name, err)
			}
		}
		total -= r.size
		removed++
	}
	return removed, nil
}
