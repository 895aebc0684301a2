package dashboard

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/monitor"
	"github.com/berth-dev/berth/internal/state"
)

// secretApp is a name that must never appear in an answer without a session.
const secretApp = "secretapp-7d1"

// engine stands in for the deploy engine, which needs a keeper and a front
// to run: these tests are about the dashboard's doors, not the engine's
// work (the e2e browser tests drive the real one).
type engine struct {
	mu        sync.Mutex
	rollbacks []string // app/to/user
	promotes  []string // app/user
}

func (e *engine) Status(_ context.Context, name string) ([]deploy.AppStatus, error) {
	if name != "" && name != secretApp {
		return nil, deploy.ErrUnknownApp
	}
	return []deploy.AppStatus{{Name: secretApp, Live: "blue", Release: "20261207T120000Z-abcdef",
		Instances: []deploy.InstanceStatus{{Color: "blue", Live: true, Health: "ok"}}}}, nil
}

func (e *engine) Rollback(_ context.Context, app, to, user string, _ deploy.ProgressFunc) (state.Deployment, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rollbacks = append(e.rollbacks, app+"/"+to+"/"+user)
	return state.Deployment{}, nil
}

func (e *engine) Restart(context.Context, string, string, deploy.ProgressFunc) (state.Deployment, error) {
	return state.Deployment{}, nil
}
func (e *engine) Abort(string, string) (string, error) { return "", deploy.ErrNotRunning }
func (e *engine) Promote(app, user string) (string, int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.promotes = append(e.promotes, app+"/"+user)
	return "7", 1, nil
}
func (e *engine) EachProxy(func(app string, p deploy.Proxy)) {}
func (e *engine) Slots(string) map[string][]string           { return nil }
func (e *engine) count() int                                 { e.mu.Lock(); defer e.mu.Unlock(); return len(e.rollbacks) }

// clock is a settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	d     *Dashboard
	srv   *httptest.Server
	eng   *engine
	mon   *monitor.Monitor
	store *state.Store
	clock *clock
}

// newFixture serves a dashboard over a real store and monitor on loopback.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	store, err := state.Open(filepath.Join(dir, "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := &fixture{eng: &engine{}, store: store, clock: &clock{now: time.Now()},
		mon: monitor.New(monitor.Config{Logger: log})}
	f.d, err = New(Config{Engine: f.eng, Store: store, Monitor: f.mon, Home: home.Layout{Root: dir}, Logger: log,
		Now: f.clock.Now, TokenTTL: time.Minute, SessionTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.d.Handler())
	t.Cleanup(f.srv.Close)
	f.d.SetBase(f.srv.URL)
	return f
}

// client does not follow redirects, so each answer is seen as it is.
func client() *http.Client {
	return &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (f *fixture) get(t *testing.T, path string, cookie *http.Cookie) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := client().Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body) // a stream ends with the context
	return resp, string(b)
}

// login mints a token and redeems it, returning the session cookie.
func (f *fixture) login(t *testing.T) *http.Cookie {
	t.Helper()
	l, err := f.d.Mint("alice")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(l.URL)
	resp, _ := f.get(t, u.RequestURI(), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, c := range resp.Cookies() {
		if c.Name == CookieName {
			return c
		}
	}
	t.Fatal("login set no session cookie")
	return nil
}

func TestLoginTokenIsSingleUse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	l, err := f.d.Mint("alice")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(l.URL)
	resp, _ := f.get(t, u.RequestURI(), nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first use: %d, want 303", resp.StatusCode)
	}
	var c *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == CookieName {
			c = k
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Value == "" {
		t.Fatalf("session cookie %+v, want HttpOnly, SameSite=Strict, Path=/", c)
	}
	if strings.Contains(resp.Header.Get("Location"), "token") {
		t.Errorf("the redirect keeps the token: %q", resp.Header.Get("Location"))
	}
	resp, body := f.get(t, u.RequestURI(), nil)
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Errorf("second use: %d with %d cookies, want 401 and none", resp.StatusCode, len(resp.Cookies()))
	}
	if !strings.Contains(body, "already used") {
		t.Errorf("second use does not say why: %s", body)
	}
	if resp, body := f.get(t, "/", c); resp.StatusCode != 200 || !strings.Contains(body, secretApp) {
		t.Errorf("with the session: %d, app shown %v", resp.StatusCode, strings.Contains(body, secretApp))
	}
}

func TestLoginTokenAndSessionExpire(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	l, _ := f.d.Mint("alice")
	f.clock.add(time.Minute + time.Second)
	u, _ := url.Parse(l.URL)
	if resp, _ := f.get(t, u.RequestURI(), nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired token: %d, want 401", resp.StatusCode)
	}
	c := f.login(t)
	if resp, _ := f.get(t, "/", c); resp.StatusCode != 200 {
		t.Fatalf("fresh session: %d", resp.StatusCode)
	}
	f.clock.add(time.Hour + time.Second)
	if resp, body := f.get(t, "/", c); resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, secretApp) {
		t.Errorf("expired session: %d, shows the app %v; want 401 and no data", resp.StatusCode, strings.Contains(body, secretApp))
	}
}

// Every page, stream and action answers 401 with no data without a
// session, and with a forged cookie.
func TestNoSessionNoData(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login(t) // a session exists; the requests below do not carry it
	forged := &http.Cookie{Name: CookieName, Value: "forged"}
	paths := []string{"/", "/apps/" + secretApp, "/host", "/events", "/live/overview", "/live/app/" + secretApp,
		"/live/app/" + secretApp + "?logs=1", "/apps/" + secretApp + "/confirm/rollback", "/nothing"}
	for _, c := range []*http.Cookie{nil, forged} {
		for _, p := range paths {
			resp, body := f.get(t, p, c)
			if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, secretApp) ||
				strings.Contains(resp.Header.Get("Content-Type"), "event-stream") {
				t.Errorf("GET %s (cookie %v): %d %s, shows data %v; want 401 and none", p, c != nil,
					resp.StatusCode, resp.Header.Get("Content-Type"), strings.Contains(body, secretApp))
			}
		}
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/apps/"+secretApp+"/rollback", strings.NewReader("to=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c != nil {
			req.AddCookie(c)
		}
		if resp, _ := do(t, req); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST rollback without a session: %d, want 401", resp.StatusCode)
		}
	}
	if n := f.eng.count(); n != 0 {
		t.Errorf("%d rollbacks ran without a session", n)
	}
}

func TestActionsNeedCSRF(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.login(t)
	post := func(form url.Values, header string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/apps/"+secretApp+"/pause-checks", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if header != "" {
			req.Header.Set("X-CSRF-Token", header)
		}
		req.AddCookie(c)
		resp, _ := do(t, req)
		return resp
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		header string
	}{
		{name: "none", form: url.Values{}},
		{name: "wrong field", form: url.Values{"csrf": {"nope"}}},
		{name: "wrong header", form: url.Values{}, header: "nope"},
	} {
		if resp := post(tc.form, tc.header); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, resp.StatusCode)
		}
	}
	if f.mon.ChecksPaused(secretApp) {
		t.Fatal("checks paused by a request without the CSRF token")
	}
	// The confirm page carries the token; posting it does the action.
	_, body := f.get(t, "/apps/"+secretApp+"/confirm/pause-checks", c)
	i := strings.Index(body, `name="csrf" value="`)
	if i < 0 {
		t.Fatalf("the confirm page has no CSRF field:\n%s", body)
	}
	tok := body[i+len(`name="csrf" value="`):]
	tok = tok[:strings.IndexByte(tok, '"')]
	if resp := post(url.Values{"csrf": {tok}}, ""); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("with the token: %d, want 303", resp.StatusCode)
	}
	if !f.mon.ChecksPaused(secretApp) {
		t.Error("checks not paused by the confirmed action")
	}
	evs, _ := f.store.TailEvents(secretApp, 10)
	if len(evs) == 0 || evs[len(evs)-1].Kind != "dashboard.action" || evs[len(evs)-1].Fields["user"] != "alice" {
		t.Errorf("the action is not journaled with its user: %+v", evs)
	}
}

func TestPromoteAction(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.login(t)
	_, body := f.get(t, "/apps/"+secretApp+"/confirm/promote", c)
	i := strings.Index(body, `name="csrf" value="`)
	if i < 0 {
		t.Fatalf("the promote confirm page has no CSRF field:\n%s", body)
	}
	tok := body[i+len(`name="csrf" value="`):]
	tok = tok[:strings.IndexByte(tok, '"')]
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/apps/"+secretApp+"/promote", strings.NewReader(url.Values{"csrf": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(c)
	if resp, _ := do(t, req); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("promote with the token: %d, want 303", resp.StatusCode)
	}
	f.eng.mu.Lock()
	defer f.eng.mu.Unlock()
	if want := secretApp + "/alice (dashboard)"; len(f.eng.promotes) != 1 || f.eng.promotes[0] != want {
		t.Errorf("promotes = %q, want [%q]", f.eng.promotes, want)
	}
}

func TestMintNeedsTheListener(t *testing.T) {
	t.Parallel()
	d, err := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Mint("alice"); !errors.Is(err, ErrNoListener) {
		t.Errorf("Mint without a listener: %v, want ErrNoListener", err)
	}
}
