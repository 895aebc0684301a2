package demo

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// load sends a steady stream of real HTTP requests through berth's proxy and
// counts what came back; the demo's numbers are these counts.
type load struct {
	url     string
	sent    atomic.Int64
	failed  atomic.Int64
	mu      sync.Mutex
	seen    map[string]int64 // body ("hello from v2") -> count
	lastErr string
}

func newLoad(url string) *load { return &load{url: url, seen: map[string]int64{}} }

// run sends from workers connections, each pausing gap between requests,
// until ctx ends.
func (l *load) run(ctx context.Context, workers int, gap time.Duration) {
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer c.CloseIdleConnections()
			t := time.NewTicker(gap)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				l.once(ctx, c)
			}
		}()
	}
	wg.Wait()
}

func (l *load) once(ctx context.Context, c *http.Client) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.url, nil)
	resp, err := c.Do(req)
	if ctx.Err() != nil {
		return // stopping: not a failure of the app
	}
	l.sent.Add(1)
	if err != nil {
		l.fail(err.Error())
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode/100 != 2 {
		l.fail(resp.Status)
		return
	}
	l.mu.Lock()
	l.seen[strings.TrimSpace(string(body))]++
	l.mu.Unlock()
}

func (l *load) fail(why string) {
	l.failed.Add(1)
	l.mu.Lock()
	l.lastErr = why
	l.mu.Unlock()
}

// snapshot returns sent and failed so far.
func (l *load) snapshot() (sent, failed int64) { return l.sent.Load(), l.failed.Load() }
