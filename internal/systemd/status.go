package systemd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/runtime"
)

// crashloopAfter is how many automatic restarts count as a crash loop, as
// in the embedded runtime; systemd keeps retrying either way.
const crashloopAfter = 5

func (r *Runtime) status(ctx context.Context, id string) (runtime.Status, error) {
	app, color, err := SplitID(id)
	if err != nil {
		return runtime.Status{}, err
	}
	if _, err := os.Stat(AppPaths{Home: r.home, App: app}.ColorEnv(color)); errors.Is(err, fs.ErrNotExist) {
		return runtime.Status{}, fmt.Errorf("%s: %w", id, runtime.ErrNotFound)
	}
	unit := UnitName(app, color)
	props, err := r.sc.Show(ctx, unit, "ActiveState", "SubState", "Result", "MainPID", "NRestarts",
		"ExecMainStartTimestamp", "ExecMainExitTimestamp", "ExecMainCode", "ExecMainStatus")
	if err != nil {
		return runtime.Status{}, err
	}
	st := statusFrom(props)
	st.ID, st.App, st.LogPath = id, app, "journal:"+unit
	if st.State != runtime.StateRunning {
		st.LastStderr, _ = r.sc.Journal(ctx, unit, 5)
	}
	return st, nil
}

// statusFrom maps systemctl show's properties to a runtime.Status.
func statusFrom(p map[string]string) runtime.Status {
	var st runtime.Status
	st.Restarts, _ = strconv.Atoi(p["NRestarts"])
	if pid, _ := strconv.Atoi(p["MainPID"]); pid > 0 {
		st.PID = pid
	}
	st.StartedAt = parseTimestamp(p["ExecMainStartTimestamp"])
	switch p["ActiveState"] {
	case "active", "reloading", "deactivating":
		st.State = runtime.StateRunning
	case "activating":
		st.State = runtime.StateRunning
		if p["SubState"] == "auto-restart" {
			st.State = runtime.StateBackoff
			if st.Restarts >= crashloopAfter {
				st.State = runtime.StateCrashloop
			}
		}
	case "failed":
		st.State = runtime.StateExited
	default:
		st.State = runtime.StateStopped
	}
	if st.State != runtime.StateRunning {
		st.PID = 0
	}
	if code := p["ExecMainCode"]; code != "" && code != "0" {
		st.LastExitAt = parseTimestamp(p["ExecMainExitTimestamp"])
		switch code {
		case "1": // CLD_EXITED
			st.LastExit = "exit " + p["ExecMainStatus"]
		default: // killed or dumped: the status is the signal number
			st.LastExit = "signal: " + p["ExecMainStatus"]
		}
	}
	return st
}

// parseTimestamp reads systemctl's "Wed 2026-11-25 19:14:04 UTC"; empty or
// "n/a" is the zero time.
func parseTimestamp(s string) time.Time {
	for _, layout := range []string{"Mon 2006-01-02 15:04:05 MST", "Mon 2006-01-02 15:04:05.000000 MST"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}
