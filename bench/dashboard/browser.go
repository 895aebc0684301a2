package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// browser is one headless Chromium the benchmark started (chromedp ends
// it with its context).
type browser struct {
	ctx    context.Context
	cancel func()
}

func newBrowser(exe string) (*browser, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &browser{ctx: ctx, cancel: func() { cancel(); cancelAlloc() }}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		b.close()
		return nil, fmt.Errorf("starting chromium: %w", err)
	}
	return b, nil
}

func (b *browser) close() { b.cancel() }

// login opens a login URL; the session cookie then serves every tab.
func (b *browser) login(url string) error {
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	// Then leave the page, so the first tab holds no stream.
	return chromedp.Do(ctx, navigate(url), chromedp.WaitVisible(chromedp.CSS(`#live`)), chromedp.Navigate("about:blank"))
}

// tab opens another tab of the same browser (the same cookies) on url.
func (b *browser) tab(url string) (func(), error) {
	ctx, cancel := chromedp.NewContext(b.ctx)
	tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
	defer tcancel()
	if err := chromedp.Do(tctx, navigate(url), chromedp.WaitVisible(chromedp.CSS(`#live`))); err != nil {
		cancel()
		return nil, err
	}
	return cancel, nil
}

// paintJS waits for the first contentful paint and returns its time since
// the navigation started, in ms.
const paintJS = `new Promise(r => { const f = () => { const e = performance.getEntriesByName("first-contentful-paint")[0]; e ? r(e.startTime) : setTimeout(f, 10) }; f() })`

// firstRenders loads url n times in a fresh tab each and returns the first
// contentful paint of each, sorted.
func (b *browser) firstRenders(url string, n int) ([]time.Duration, error) {
	var out []time.Duration
	for range n {
		ctx, cancel := chromedp.NewContext(b.ctx)
		tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
		err := chromedp.Do(tctx, navigate(url))
		var ms float64
		if err == nil {
			ms, err = chromedp.Run(tctx, chromedp.Evaluate[float64](paintJS, chromedp.EvalAwaitPromise))
		}
		tcancel()
		cancel()
		if err != nil {
			return nil, fmt.Errorf("measuring the first render: %w", err)
		}
		out = append(out, time.Duration(ms*float64(time.Millisecond)))
	}
	slices.Sort(out)
	return out, nil
}

// screenshots writes every page at desktop and phone width into dir.
func (b *browser) screenshots(base, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pages := []struct{ name, path string }{
		{"overview", "/"}, {"app", "/apps/app01"}, {"host", "/host"}, {"events", "/events"},
	}
	sizes := []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 900}, {"phone", 375, 812}}
	for _, s := range sizes {
		for _, p := range pages {
			ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
			err := chromedp.Do(ctx, chromedp.EmulateViewport(s.w, s.h), navigate(base+p.path),
				chromedp.WaitVisible(chromedp.CSS(`#live`)), chromedp.Sleep(1500*time.Millisecond))
			var png []byte
			if err == nil {
				png, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
			}
			cancel()
			if err != nil {
				return fmt.Errorf("screenshot of %s at %s: %w", p.name, s.name, err)
			}
			if err := os.WriteFile(filepath.Join(dir, p.name+"-"+s.name+".png"), png, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// weight is what one page costs to load.
type weight struct {
	page       string
	html, rest int64         // the page's HTML, and its CSS and JS
	served     time.Duration // the median time to the last byte of the HTML
}

// weights logs in with a client of its own and reads each page's bytes.
func (w *world) weights(ctx context.Context) ([]weight, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	size := func(path string) (int64, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.base+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return 0, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return io.Copy(io.Discard, resp.Body)
	}
	if _, err := c.Get(w.loginURL(ctx)); err != nil {
		return nil, err
	}
	css, err := size("/static/style.css")
	if err != nil {
		return nil, err
	}
	js, err := size("/static/app.js")
	if err != nil {
		return nil, err
	}
	var out []weight
	for _, p := range []string{"/", "/apps/app01", "/host", "/events"} {
		var n int64
		var took []time.Duration
		for range 5 {
			t0 := time.Now()
			var err error
			if n, err = size(p); err != nil {
				return nil, err
			}
			took = append(took, time.Since(t0))
		}
		slices.Sort(took)
		out = append(out, weight{page: p, html: n, rest: css + js, served: took[len(took)/2]})
	}
	return out, nil
}

// navigate is chromedp.Navigate tried up to 3 times while Chromium reports
// ERR_NETWORK_CHANGED, which it does when another program on the machine
// adds or removes a network interface.
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
