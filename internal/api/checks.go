package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/state"
)

// ChecksPauser pauses and resumes the monitor's checks of an app.
type ChecksPauser interface {
	PauseChecks(app string, on bool)
}

// ChecksAnswer says whether an app's checks are paused now.
type ChecksAnswer struct {
	App    string `json:"app"`
	Paused bool   `json:"paused"`
}

// pauseChecks serves POST /v1/apps/{app}/checks/pause and .../resume: the
// monitor stops (or starts again) the app's checks and what they do, and the
// journal says who asked.
func (s *Server) pauseChecks(w http.ResponseWriter, r *http.Request) {
	app, on := r.PathValue("app"), r.PathValue("what") == "pause"
	if s.checks == nil {
		writeJSON(w, http.StatusNotFound, &Error{Code: CodeNotFound, Message: "this daemon has no monitor"})
		return
	}
	if r.PathValue("what") != "pause" && r.PathValue("what") != "resume" {
		http.NotFound(w, r)
		return
	}
	if _, err := s.store.GetApp(app); errors.Is(err, state.ErrNotFound) {
		writeError(w, fmt.Errorf("%w: %s", deploy.ErrUnknownApp, app))
		return
	}
	s.checks.PauseChecks(app, on)
	kind, verb := "checks.resumed", "resumed"
	if on {
		kind, verb = "checks.paused", "paused"
	}
	user := peerName(r.Context())
	if _, err := s.store.AddEvent(state.Event{Time: time.Now(), App: app, Kind: kind,
		Message: "checks of " + app + " " + verb + " by " + user, Fields: map[string]string{"user": user}}); err != nil {
		s.log.Error("journaling a checks pause", "err", err)
	}
	writeJSON(w, http.StatusOK, ChecksAnswer{App: app, Paused: on})
}

// PauseChecks pauses (on) or resumes the daemon's checks of app.
func (c *Client) PauseChecks(ctx context.Context, app string, on bool) (ChecksAnswer, error) {
	what := "resume"
	if on {
		what = "pause"
	}
	var out ChecksAnswer
	return out, c.getJSON(ctx, http.MethodPost, "/v1/apps/"+url.PathEscape(app)+"/checks/"+what, struct{}{}, &out)
}
