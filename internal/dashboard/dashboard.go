// Package dashboard is berth's web dashboard: server-rendered pages
// (html/template, assets embedded with go:embed, a little vanilla JS, no
// CDN) served on the daemon's admin listener, updated live over
// server-sent events, behind a one-time login token minted over the
// control socket. It reads everything through the engine, the store and
// the monitor the control API uses. A Dashboard is safe for concurrent use.
package dashboard

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/disk"
	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/monitor"
	"github.com/berth-dev/berth/internal/state"
)

// Engine is what the dashboard reads and asks of the deploy engine: the
// same calls the control API makes.
type Engine interface {
	Status(ctx context.Context, name string) ([]deploy.AppStatus, error)
	Rollback(ctx context.Context, app, to, user string, out deploy.ProgressFunc) (state.Deployment, error)
	Restart(ctx context.Context, app, user string, out deploy.ProgressFunc) (state.Deployment, error)
	Abort(app, user string) (string, error)
	Promote(app, user string) (string, int, error)
	EachProxy(fn func(app string, p deploy.Proxy))
	Slots(app string) map[string][]string
}

// Store is the part of the state store the dashboard reads and journals to.
type Store interface {
	ListDeployments(app string, limit int) ([]state.Deployment, error)
	TailEvents(app string, n int) ([]state.Event, error)
	AddEvent(e state.Event) (state.Event, error)
}

// Monitor gives the latest check results and pauses checks.
type Monitor interface {
	Snapshot() []monitor.Health
	PauseChecks(app string, on bool)
	ChecksPaused(app string) bool
}

// LogReader reads an app's log lines, as the control API does.
type LogReader interface {
	ReadLogs(ctx context.Context, app, color string, q logs.Query, out func(logs.Line) error) error
}

// Config holds a Dashboard's dependencies.
type Config struct {
	Engine  Engine
	Store   Store
	Monitor Monitor
	Logs    LogReader
	Disks   func() []disk.Reading // the disk watcher's latest readings
	Home    home.Layout
	Logger  *slog.Logger
	// PIDFiles names berth's other processes ("keeper", "front") by their
	// pid files, for their memory on the host page.
	PIDFiles map[string]string
	Now      func() time.Time // default time.Now
	// TokenTTL bounds a login token's life (default 5 minutes), SessionTTL
	// a session's (default 12 hours).
	TokenTTL, SessionTTL time.Duration
	// Tick is how often live pages are re-rendered while someone watches
	// (default 1s).
	Tick time.Duration
}

// Dashboard serves the dashboard.
type Dashboard struct {
	cfg     Config
	auth    *auth
	samples *sampler
	hub     *hub
	pages   *renderer
	base    atomic.Pointer[string] // the admin listener's URL, once it listens
	actions sync.WaitGroup         // actions still running in the background
}

// New returns a Dashboard; Run samples traffic, Handler serves it.
func New(cfg Config) (*Dashboard, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 5 * time.Minute
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	r, err := newRenderer()
	if err != nil {
		return nil, err
	}
	d := &Dashboard{cfg: cfg, auth: newAuth(cfg.Now, cfg.TokenTTL, cfg.SessionTTL),
		samples: newSampler(cfg.Engine, cfg.Disks), pages: r}
	d.hub = newHub(cfg.Tick, d.renderTopic)
	return d, nil
}

// Run samples the apps' traffic until ctx ends, then waits for the actions
// the dashboard started.
func (d *Dashboard) Run(ctx context.Context) {
	d.samples.run(ctx)
	d.actions.Wait()
}

// SetBase tells the dashboard where it is served (http://host:port), for
// the login URLs it mints.
func (d *Dashboard) SetBase(url string) { d.base.Store(&url) }

// Login is a minted login: open URL once before Expires.
type Login struct {
	URL     string    `json:"url"`
	Expires time.Time `json:"expires"`
}

// ErrNoListener is returned by Mint when the admin listener is not up.
var ErrNoListener = fmt.Errorf("the dashboard is served on the [admin] listen address, and the daemon has none (see docs/daemon-config.md)")

// Mint makes a one-time login for user (the unix user who asked over the
// control socket).
func (d *Dashboard) Mint(user string) (Login, error) {
	base := d.base.Load()
	if base == nil {
		return Login{}, ErrNoListener
	}
	tok, exp := d.auth.mint(user)
	return Login{URL: *base + "/login?token=" + tok, Expires: exp}, nil
}

// Handler serves every page, asset and stream of the dashboard.
func (d *Dashboard) Handler() http.Handler {
	m := http.NewServeMux()
	m.Handle("GET /static/", staticHandler())
	m.HandleFunc("GET /login", d.login)
	m.HandleFunc("GET /{$}", d.with(d.overview))
	m.HandleFunc("GET /apps/{app}", d.with(d.appPage))
	m.HandleFunc("GET /host", d.with(d.hostPage))
	m.HandleFunc("GET /events", d.with(d.eventsPage))
	m.HandleFunc("GET /live/{topic...}", d.with(d.live))
	m.HandleFunc("GET /apps/{app}/confirm/{action}", d.with(d.confirm))
	m.HandleFunc("POST /apps/{app}/{action}", d.with(d.act))
	m.HandleFunc("POST /logout", d.with(d.logout))
	m.HandleFunc("/", d.with(func(w http.ResponseWriter, r *http.Request, _ session) { http.NotFound(w, r) }))
	return securityHeaders(m)
}

// securityHeaders forbids framing and inline scripts of other origins.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// with runs h for a request with a session, and answers 401 with the login
// page (no data) otherwise; a POST must also carry the session's CSRF token.
func (d *Dashboard) with(h func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := d.auth.lookup(r)
		if !ok {
			w.Header().Set("Cache-Control", "no-store")
			d.pages.page(w, http.StatusUnauthorized, "login", pageData{Title: "Log in"})
			return
		}
		if r.Method == http.MethodPost && !csrfOK(r, s) {
			http.Error(w, "missing or wrong CSRF token: reload the page and try again", http.StatusForbidden)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, s)
	}
}

// login redeems a token, sets the session cookie and redirects to the
// overview, so the token leaves the address bar and the history.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	id, s, err := d.auth.redeem(r.URL.Query().Get("token"))
	if err != nil {
		d.pages.page(w, http.StatusUnauthorized, "login", pageData{Title: "Log in", Error: err.Error()})
		return
	}
	http.SetCookie(w, d.auth.cookie(id))
	d.journal("", "dashboard.login", s.user+" logged in to the dashboard", s.user)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request, _ session) {
	if c, err := r.Cookie(CookieName); err == nil {
		d.auth.drop(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// journal adds a dashboard event to the event journal.
func (d *Dashboard) journal(app, kind, msg, user string) {
	if _, err := d.cfg.Store.AddEvent(state.Event{Time: d.cfg.Now(), App: app, Kind: kind, Message: msg,
		Fields: map[string]string{"user": user}}); err != nil {
		d.cfg.Logger.Error("journaling a dashboard event", "err", err)
	}
}

// checkResults returns the monitor's latest results per instance of app.
func (d *Dashboard) checkResults(app string) map[string][]health.Result {
	out := map[string][]health.Result{}
	if d.cfg.Monitor == nil {
		return out
	}
	for _, h := range d.cfg.Monitor.Snapshot() {
		if h.App == app {
			out[h.Color] = h.Results
		}
	}
	return out
}
