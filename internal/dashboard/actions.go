package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/berth-dev/berth/internal/deploy"
)

// action is one thing the dashboard can do to an app, after a confirm step.
type action struct {
	Name    string // the path segment
	Title   string // the confirm button's words
	Explain string // what it does, on the confirm page
}

// actions are the dashboard's actions.
var actions = map[string]action{
	"rollback": {Name: "rollback", Title: "Roll back",
		Explain: "Moves traffic to the release named below: instantly while it is warm, otherwise by deploying it again."},
	"restart": {Name: "restart", Title: "Restart",
		Explain: "Starts the live release again on the idle color and switches to it: no downtime."},
	"abort": {Name: "abort", Title: "Abort the deploy",
		Explain: "Stops the running deploy (or canary) at its step; the previous version stays live."},
	"promote": {Name: "promote", Title: "Promote the canary",
		Explain: "Ends the canary's current step now (a manual one too): its numbers are judged, then it moves to the next share of requests, or at the last step takes every instance."},
	"pause-checks": {Name: "pause-checks", Title: "Pause checks",
		Explain: "Stops the app's health checks and what they do (restarts, fail-overs, alerts) until resumed or the daemon restarts."},
	"resume-checks": {Name: "resume-checks", Title: "Resume checks",
		Explain: "Starts the app's health checks again."},
}

// confirm shows what an action will do and asks for it: a form that
// carries the session's CSRF token.
func (d *Dashboard) confirm(w http.ResponseWriter, r *http.Request, s session) {
	a, ok := actions[r.PathValue("action")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	app := r.PathValue("app")
	p := d.pageFor(s, "app", a.Title+" "+app, "")
	p.Body = map[string]any{"App": app, "Action": a, "To": r.URL.Query().Get("to")}
	d.pages.page(w, http.StatusOK, "confirm", p)
}

// act runs a confirmed action (the CSRF token was checked by with) as the
// session's user, journals it, and goes back to the app's page, which shows
// a deploy's steps live.
func (d *Dashboard) act(w http.ResponseWriter, r *http.Request, s session) {
	a, ok := actions[r.PathValue("action")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	app, to := r.PathValue("app"), r.PostFormValue("to")
	user := s.user + " (dashboard)"
	what := a.Name
	if to != "" {
		what += " to " + to
	}
	d.journal(app, "dashboard.action", fmt.Sprintf("%s: %s %s", s.user, what, app), s.user)
	var err error
	switch a.Name {
	case "rollback":
		d.background(app, what, s.user, func(ctx context.Context) error {
			_, err := d.cfg.Engine.Rollback(ctx, app, to, user, nil)
			return err
		})
	case "restart":
		d.background(app, what, s.user, func(ctx context.Context) error {
			_, err := d.cfg.Engine.Restart(ctx, app, user, nil)
			return err
		})
	case "abort":
		_, err = d.cfg.Engine.Abort(app, user)
	case "promote":
		_, _, err = d.cfg.Engine.Promote(app, user)
	case "pause-checks", "resume-checks":
		if d.cfg.Monitor == nil {
			err = fmt.Errorf("no monitor in this daemon")
		} else {
			d.cfg.Monitor.PauseChecks(app, a.Name == "pause-checks")
		}
	}
	if err != nil {
		p := d.pageFor(s, "app", a.Title+" "+app, "")
		p.Error = a.Title + " " + app + ": " + err.Error()
		p.Body = map[string]any{"App": app}
		d.pages.page(w, http.StatusConflict, "error", p)
		return
	}
	http.Redirect(w, r, "/apps/"+url.PathEscape(app)+"?did="+a.Name, http.StatusSeeOther)
}

// background runs a long action outside the request, which the browser
// leaves at once for the app's page; a failure is journaled.
func (d *Dashboard) background(app, what, user string, run func(context.Context) error) {
	d.actions.Go(func() {
		err := run(context.Background())
		if err != nil && !isFailedDeploy(err) {
			d.journal(app, "dashboard.action.failed", fmt.Sprintf("%s: %s %s: %v", user, what, app, err), user)
		}
	})
}

// isFailedDeploy: a deploy that ran and failed is journaled by the engine.
func isFailedDeploy(err error) bool { return errors.Is(err, deploy.ErrFailed) }
