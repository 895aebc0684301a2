package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// answer is one request of the load: when it was sent and answered, its
// status and which release answered ("" for the proxy's own answers and
// for failures without a body naming a release).
type answer struct {
	sent, done time.Time
	status     int
	release    string
	err        bool
}

// load sends GET / at a fixed rate (open loop: a slow answer does not slow
// the sending), each request on its own goroutine, at most maxOpen at once.
type load struct {
	mu      sync.Mutex
	answers []answer
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	client  *http.Client
}

const maxOpen = 256

func startLoad(url string, rate int, maxTime time.Duration) *load {
	ctx, cancel := context.WithTimeout(context.Background(), maxTime)
	l := &load{cancel: cancel, client: &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: maxOpen}}}
	sem := make(chan struct{}, maxOpen)
	l.wg.Go(func() {
		t := time.NewTicker(time.Second / time.Duration(rate))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			select {
			case sem <- struct{}{}:
			default:
				continue // maxOpen in flight: the tick is skipped, not queued
			}
			l.wg.Go(func() {
				defer func() { <-sem }()
				l.one(ctx, url)
			})
		}
	})
	return l
}

func (l *load) one(ctx context.Context, url string) {
	a := answer{sent: time.Now()}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := l.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return // the load ended: not an answer
		}
		a.err = true
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		a.status = resp.StatusCode
		if rel, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "hello from "); ok {
			a.release, _, _ = strings.Cut(rel, ".")
		}
	}
	a.done = time.Now()
	l.mu.Lock()
	l.answers = append(l.answers, a)
	l.mu.Unlock()
}

// stop ends the load and returns every answer.
func (l *load) stop() []answer {
	l.cancel()
	l.wg.Wait()
	l.client.CloseIdleConnections()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answers
}
