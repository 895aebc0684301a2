package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/berth-dev/berth/internal/deploy"
)

// Topics of the live parts of the pages.
const (
	topicOverview = "overview"
	topicHost     = "host"
	topicApp      = "app/"    // + app name
	topicEvents   = "events?" // + url-encoded app and kind filter
)

func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request, s session) {
	d.livePage(w, r, s, "overview", "Overview", topicOverview)
}

func (d *Dashboard) appPage(w http.ResponseWriter, r *http.Request, s session) {
	app := r.PathValue("app")
	p := d.pageFor(s, "app", app, topicApp+app)
	p.Note = noteFor(r.URL.Query().Get("did"))
	body, err := d.renderTopic(r.Context(), p.Topic)
	if err != nil {
		d.fail(w, p, err)
		return
	}
	p.Body = map[string]any{"App": app, "Live": trusted(body)}
	d.pages.page(w, http.StatusOK, "app", p)
}

func (d *Dashboard) hostPage(w http.ResponseWriter, r *http.Request, s session) {
	d.livePage(w, r, s, "host", "Host", topicHost)
}

func (d *Dashboard) eventsPage(w http.ResponseWriter, r *http.Request, s session) {
	q := r.URL.Query()
	filter := url.Values{"app": {q.Get("app")}, "kind": {q.Get("kind")}}
	p := d.pageFor(s, "events", "Events", topicEvents+filter.Encode())
	body, err := d.renderTopic(r.Context(), p.Topic)
	if err != nil {
		d.fail(w, p, err)
		return
	}
	v, _ := d.eventsView(q.Get("app"), "")
	p.Body = map[string]any{"App": q.Get("app"), "Kind": q.Get("kind"), "Kinds": v.Kinds, "Live": trusted(body)}
	d.pages.page(w, http.StatusOK, "events", p)
}

// livePage renders a page whose whole body is its live topic.
func (d *Dashboard) livePage(w http.ResponseWriter, r *http.Request, s session, nav, title, topic string) {
	p := d.pageFor(s, nav, title, topic)
	body, err := d.renderTopic(r.Context(), topic)
	if err != nil {
		d.fail(w, p, err)
		return
	}
	p.Body = map[string]any{"Live": trusted(body)}
	d.pages.page(w, http.StatusOK, "live", p)
}

func (d *Dashboard) pageFor(s session, nav, title, topic string) pageData {
	return pageData{Title: title, Nav: nav, User: s.user, CSRF: s.csrf, Topic: topic}
}

func (d *Dashboard) fail(w http.ResponseWriter, p pageData, err error) {
	status := http.StatusInternalServerError
	if errors.Is(err, deploy.ErrUnknownApp) {
		status = http.StatusNotFound
	}
	p.Error, p.Topic = err.Error(), ""
	d.pages.page(w, status, "error", p)
}

// renderTopic renders a topic's live fragment: what a page shows first and
// what the hub sends its watchers when it changes.
func (d *Dashboard) renderTopic(ctx context.Context, topic string) ([]byte, error) {
	switch {
	case topic == topicOverview:
		apps, err := d.appViews(ctx, "")
		if err != nil {
			return nil, err
		}
		return d.pages.fragment("overview-live", apps)
	case topic == topicHost:
		return d.pages.fragment("host-live", d.hostView(ctx))
	case strings.HasPrefix(topic, topicApp):
		v, err := d.appPageView(ctx, strings.TrimPrefix(topic, topicApp))
		if err != nil {
			return nil, err
		}
		return d.pages.fragment("app-live", v)
	case strings.HasPrefix(topic, topicEvents):
		q, _ := url.ParseQuery(strings.TrimPrefix(topic, topicEvents))
		v, err := d.eventsView(q.Get("app"), q.Get("kind"))
		if err != nil {
			return nil, err
		}
		return d.pages.fragment("events-live", v)
	}
	return nil, errors.New("no such live topic: " + topic)
}

// noteFor is the line shown after an action redirected to the app page.
func noteFor(did string) string {
	switch did {
	case "rollback":
		return "Rollback started: its steps appear below as they run."
	case "restart":
		return "Restart started: its steps appear below as they run."
	case "abort":
		return "Abort requested: the deploy stops at its step and the previous version stays live."
	case "promote":
		return "Promote requested: the canary moves to its next step once the current one is judged."
	case "pause-checks":
		return "Checks paused: they stop within 2 seconds and act on nothing until resumed."
	case "resume-checks":
		return "Checks resumed."
	}
	return ""
}
