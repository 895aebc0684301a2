package daemon

import (
	"log/slog"
	"path/filepath"

	"github.com/berth-dev/berth/internal/dashboard"
	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/disk"
	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/monitor"
	"github.com/berth-dev/berth/internal/state"
)

// newDashboard builds the dashboard on the same engine, store, monitor and
// log reader as the control API.
func newDashboard(h home.Layout, eng *deploy.Engine, store *state.Store, mon *monitor.Monitor, logs dashboard.LogReader,
	disks *disk.Watcher, log *slog.Logger) (*dashboard.Dashboard, error) {
	return dashboard.New(dashboard.Config{
		Engine: eng, Store: store, Monitor: mon, Logs: logs, Disks: disks.Readings, Home: h, Logger: log,
		PIDFiles: map[string]string{
			"keeper": filepath.Join(h.KeeperDir(), "keeper.pid"),
			"front":  filepath.Join(h.RunDir(), "front", "front.pid"),
		},
	})
}
