package daemon

import (
	"context"
	"fmt"

	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/state"
)

// logReader finds an app's log file: the given color's, or the live one's.
type logReader struct {
	home  home.Layout
	store *state.Store
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
	return logs.Read(ctx, r.home.LogFile(app, color), q, out)
}
