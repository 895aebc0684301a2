package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/berth-dev/berth/internal/state"
)

// browser starts Debian's headless Chromium for one test and returns a
// context for one tab. It skips the test when chromium is not installed
// (.ci/run installs it).
func browser(t *testing.T) (context.Context, func() context.Context) {
	t.Helper()
	exe, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium; .ci/run does): the browser tests need it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTime(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	// fresh opens a browser context of its own: no cookies of the first.
	fresh := func() context.Context {
		c, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		return c
	}
	return ctx, fresh
}

// loginURL asks the daemon for a one-time dashboard login, as a user does.
func (e *env) loginURL() string {
	e.t.Helper()
	r := e.berth("dashboard", "--url")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "http://") {
		e.t.Fatalf("berth dashboard --url: %s", r)
	}
	return strings.TrimSpace(r.stdout)
}

// text reads the text of the first node matching sel.
func text(ctx context.Context, sel string) (string, error) {
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
}

// browserEventually polls f until it passes, for at most limit.
func browserEventually(t *testing.T, limit time.Duration, what string, f func() error) {
	t.Helper()
	if err := poll(limit, f); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestDashboardInBrowser drives the dashboard in a real Chromium against a
// real daemon: log in by URL, see every app and its live color, watch a
// deploy run from the CLI without reloading, roll back with the button
// (checked with a real request), no data without a session, and a POST
// without the CSRF token refused.
func TestDashboardInBrowser(t *testing.T) {
	t.Parallel()
	ctx, fresh := browser(t)
	e := newEnv(t)
	p1, p2 := freePort(t), freePort(t)
	a := app{name: "web", version: "v1", mode: "good", listen: p1}
	b := app{name: "api", version: "v1", mode: "good", listen: p2}
	e.mustDeploy(a)
	e.mustDeploy(b)

	// Log in by URL: the token leaves the address bar.
	if err := chromedp.Do(ctx, navigate(e.loginURL()), chromedp.WaitVisible(chromedp.CSS(`#live .card`))); err != nil {
		t.Fatalf("logging in: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(loc, "token") || !strings.HasSuffix(loc, "/") {
		t.Errorf("after login the address is %q, want the overview without the token", loc)
	}

	// The overview shows every app with its live color, in words.
	for _, name := range []string{"web", "api"} {
		want := e.status(name).Live
		got, err := text(ctx, fmt.Sprintf(`section[data-app=%q] .live-color`, name))
		if err != nil || !strings.Contains(got, want) {
			t.Errorf("overview: %s live color %q (%v), want %q", name, got, err, want)
		}
	}

	// A deploy run from the CLI appears step by step on the open app page.
	if err := chromedp.Do(ctx, navigate(strings.TrimSuffix(loc, "/")+"/apps/web"),
		chromedp.WaitVisible(chromedp.CSS(`.timeline`))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded = true`)); err != nil {
		t.Fatal(err)
	}
	// The live log shows the agent's own output, on the page's one stream.
	browserEventually(t, 20*time.Second, "the live log", func() error {
		if l, err := text(ctx, `#log`); err != nil || !strings.Contains(l, "sample agent v1") {
			return fmt.Errorf("log tail %q (%v)", l, err)
		}
		return nil
	})
	a.version = "v2"
	deployed := make(chan result, 1)
	go func() { deployed <- e.deploy(a) }()
	sawRunning := false
	browserEventually(t, 60*time.Second, "the CLI's deploy shown live", func() error {
		first, err := text(ctx, `.timeline > li`)
		if err != nil {
			return err
		}
		if strings.Contains(first, "#2 deploy") && strings.Contains(first, "running") {
			sawRunning = true
		}
		if !strings.Contains(first, "#2 deploy") || !strings.Contains(first, "succeeded") {
			return fmt.Errorf("newest deploy on the page: %q", first)
		}
		return nil
	})
	if r := <-deployed; r.code != 0 {
		t.Fatalf("deploy v2: %s", r)
	}
	if !sawRunning {
		t.Error("the page never showed deploy #2 running: its steps did not arrive while it ran")
	}
	if kept, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded === true`)); err != nil || !kept {
		t.Errorf("the page was reloaded to show the deploy (%v)", err)
	}
	e.waitAnswer(p1, "hello from v2")

	// The rollback button (and its confirm step) moves traffic back to v1.
	v1 := e.history("web")[1].Release
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href$="rollback?to=%s"]`, v1)), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`form button[type=submit].danger`)),
		chromedp.Click(chromedp.CSS(`form button[type=submit].danger`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`.note`))); err != nil {
		t.Fatalf("rolling back in the browser: %v", err)
	}
	e.waitAnswer(p1, "hello from v1")
	if d := e.latest("web"); d.Kind != "rollback" || !strings.Contains(d.User, "(dashboard)") {
		t.Errorf("newest deployment: %s by %q, want a rollback by the session's user via the dashboard", d.Kind, d.User)
	}

	// A POST without the CSRF token is refused, even with the session.
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/apps/web/restart", {method: "POST"}).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if status != 403 {
		t.Errorf("POST without the CSRF token: %d, want 403", status)
	}

	// Another browser without a session sees the login page and no data.
	other := fresh()
	if err := chromedp.Do(other, navigate(strings.TrimSuffix(loc, "/")+"/apps/web")); err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(other, chromedp.Text(chromedp.CSS(`body`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "Log in") || strings.Contains(body, "v1") || strings.Contains(body, v1) || strings.Contains(body, "api") {
		t.Errorf("without a session the page shows:\n%s", body)
	}
}

// navigate is chromedp.Navigate tried up to 3 times while Chromium reports
// ERR_NETWORK_CHANGED, which it does when another test adds or removes a
// network interface (the nspawn and sshd tests do).
func navigate(url string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		var err error
		for range 3 {
			if _, err = chromedp.Navigate(url)(ctx, t); err == nil || !strings.Contains(err.Error(), "ERR_NETWORK_CHANGED") {
				return chromedp.Void{}, err
			}
			time.Sleep(500 * time.Millisecond)
		}
		return chromedp.Void{}, err
	}
}

// TestDashboardAbortsADeploy: the overview shows a deploy run from the CLI
// with its current step, and the app page's Abort button (after its
// confirm step) stops it: the CLI's deploy ends aborted (exit 3) and the
// previous release still answers.
func TestDashboardAbortsADeploy(t *testing.T) {
	t.Parallel()
	ctx, _ := browser(t)
	e := newEnv(t)
	port := freePort(t)
	e.mustDeploy(app{name: "slow", version: "v1", mode: "good", listen: port})
	if err := chromedp.Do(ctx, navigate(e.loginURL()), chromedp.WaitVisible(chromedp.CSS(`#live .card`))); err != nil {
		t.Fatalf("logging in: %v", err)
	}
	base, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}

	dep := e.startBerth("deploy", "-f", e.write(slowApp("slow", "v2", port)))
	dep.waitLine(t, "start green")
	browserEventually(t, 30*time.Second, "the deploy on the overview", func() error {
		if s, err := text(ctx, `section[data-app="slow"] .deploying`); err != nil || !strings.Contains(s, "step") {
			return fmt.Errorf("overview's deploy line %q (%v)", s, err)
		}
		return nil
	})
	if err := chromedp.Do(ctx, navigate(strings.TrimSuffix(base, "/")+"/apps/slow"),
		chromedp.Click(chromedp.CSS(`a[href$="/confirm/abort"]`), chromedp.NodeVisible),
		chromedp.Click(chromedp.CSS(`form button[type=submit].danger`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`.note`))); err != nil {
		t.Fatalf("aborting in the browser: %v", err)
	}
	if code := dep.wait(t); code != 3 {
		t.Errorf("the aborted deploy's client: exit %d, want 3\n%s", code, dep.out.String())
	}
	if d := e.latest("slow"); d.Outcome != state.OutcomeAborted {
		t.Errorf("the deploy ended %s (%s), want aborted", d.Outcome, d.Reason)
	}
	e.waitAnswer(port, "hello from v1")
}
