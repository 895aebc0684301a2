package daemon

import (
	"context"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/state"
)

// journalLogs reads the output of agents that run as systemd units.
type journalLogs interface {
	Logs(ctx context.Context, id string, n int) ([]string, error)
}

// logReader finds an app's log: the given color's, or the live one's; a
// file berth wrote, or journald for systemd units.
type logReader struct {
	home    home.Layout
	store   *state.Store
	journal runtime.Runtime // the systemd backend, when there is one
}

// ReadLogs reads the log of app's color, or of its live color. Following the
// live color goes on across blue-green switches: see followLive.
func (r logReader) ReadLogs(ctx context.Context, app, color string, q logs.Query, out func(logs.Line) error) error {
	st, err := r.store.GetApp(app)
	if err != nil {
		return fmt.Errorf("reading logs of %s: %w", app, err)
	}
	follow := color // "" = the live color, whichever it is over time
	if color == "" {
		color = st.Live
	}
	if color == "" {
		return fmt.Errorf("%s has no live instance; name one with --color", app)
	}
	if q.Follow && follow == "" {
		return r.followLive(ctx, app, color, q, out)
	}
	return r.readColor(ctx, app, color, q, out)
}

// readColor reads the log of one color of app.
func (r logReader) readColor(ctx context.Context, app, color string, q logs.Query, out func(logs.Line) error) error {
	inst, err := instance.ParseSlot(app, color)
	if err != nil {
		return fmt.Errorf("reading logs of %s: --color %q is neither a color nor color.index: %w", app, color, err)
	}
	id := inst.String()
	if j, ok := r.journal.(journalLogs); ok {
		if s, err := r.journal.Status(ctx, id); err == nil && strings.HasPrefix(s.LogPath, "journal:") {
			lines, err := j.Logs(ctx, id, q.Tail)
			for _, l := range lines {
				// journalctl's line carries its own time stamp.
				if err := out(logs.Line{Stream: logs.Stdout, Text: l}); err != nil {
					return err
				}
			}
			return err
		}
	}
	return logs.Read(ctx, r.home.LogFile(app, inst.Slot()), q, out)
}
