package daemon

import (
	"context"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/internal/home"
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

func (r logReader) ReadLogs(ctx context.Context, app, color string, q logs.Query, out func(logs.Line) error) error {
	st, err := r.store.GetApp(app)
	if err != nil {
		return fmt.Errorf("reading logs of %s: %w", app, err)
	}
	if color == "" {
		color = st.Live
	}
	if color == "" {
		return fmt.Errorf("%s has no live instance; name one with --color", app)
	}
	id := app + "." + color
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
	return logs.Read(ctx, r.home.LogFile(app, color), q, out)
}
