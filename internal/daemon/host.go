package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/internal/disk"
	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/metrics"
)

// diskSource turns the disk watcher's readings into metrics.
type diskSource struct{ w *disk.Watcher }

func (s diskSource) Readings() []metrics.DiskReading {
	var out []metrics.DiskReading
	for _, r := range s.w.Readings() {
		if r.Err != "" {
			continue // statfs failed: no fresh reading to export
		}
		var ttf time.Duration
		if r.Filling {
			ttf = r.TimeToFull
		}
		out = append(out, metrics.DiskReading{Path: r.Path, UsedRatio: r.UsedPct / 100,
			FreeBytes: float64(r.Avail), InodesUsedRatio: max(r.InodesPct, 0) / 100, TimeToFull: ttf})
	}
	return out
}

// growers names what berth knows takes space, for a time-to-full alert:
// each app's logs and releases, biggest first (the watcher sorts).
func growers(h home.Layout) func() []disk.Grower {
	return func() []disk.Grower {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		apps, _ := os.ReadDir(filepath.Join(h.Root, "apps"))
		var out []disk.Grower
		for _, a := range apps {
			for _, g := range []disk.Grower{
				{Name: "logs of " + a.Name(), Path: h.LogDir(a.Name())},
				{Name: "releases of " + a.Name(), Path: filepath.Join(h.AppDir(a.Name()), "releases")},
			} {
				n, err := disk.DirSize(ctx, g.Path, 100_000)
				if err != nil && n == 0 {
					continue
				}
				g.Bytes = n
				out = append(out, g)
			}
		}
		return out
	}
}

// capLogs keeps all apps' log files under the host-wide cap until ctx ends.
func capLogs(ctx context.Context, h home.Layout, max int64, log *slog.Logger) {
	if max <= 0 {
		return
	}
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		dirs, _ := filepath.Glob(filepath.Join(h.Root, "logs", "*"))
		if n, err := logs.EnforceTotal(dirs, max); err != nil {
			log.Error("keeping logs under the host-wide cap", "err", err)
		} else if n > 0 {
			log.Info("removed old log files for the host-wide cap", "files", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
