package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// load is clients looping GET against one address with keep-alive,
// counting failed requests and, among them, refused connections. Bounded
// in time and requests.
type load struct {
	cancel                context.CancelFunc
	wg                    sync.WaitGroup
	sent, failed, refused atomic.Int64
	mu                    sync.Mutex
	first                 []string
}

const (
	loadClients = 8
	loadMaxTime = 5 * time.Minute
	loadMaxReqs = 5_000_000
)

func startLoad(url string) *load {
	ctx, cancel := context.WithTimeout(context.Background(), loadMaxTime)
	l := &load{cancel: cancel}
	for range loadClients {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
		l.wg.Go(func() {
			defer c.CloseIdleConnections()
			for ctx.Err() == nil && l.sent.Load() < loadMaxReqs {
				l.sent.Add(1)
				err := getOK(ctx, c, url)
				if err == nil || ctx.Err() != nil {
					if ctx.Err() != nil && err != nil {
						l.sent.Add(-1) // cut by the end of the run, not by the server
					}
					continue
				}
				l.note(err)
			}
		})
	}
	return l
}

func (l *load) note(err error) {
	l.failed.Add(1)
	if errors.Is(err, syscall.ECONNREFUSED) {
		l.refused.Add(1)
	}
	l.mu.Lock()
	if len(l.first) < 3 {
		l.first = append(l.first, err.Error())
	}
	l.mu.Unlock()
	time.Sleep(time.Millisecond) // a refusing server is not a busy loop
}

func getOK(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}

// run is one scenario's outcome.
type run struct {
	name, how             string
	events                int
	sent, failed, refused int64
	took                  time.Duration
	first                 []string
	skipped               string // why the anchor did not run
}

// underLoad runs event n times, gap apart, while a load runs against url.
func underLoad(name, how, url string, n int, gap time.Duration, event func(i int) error) (run, error) {
	r := run{name: name, how: how, events: n}
	l := startLoad(url)
	start := time.Now()
	var err error
	for i := 0; i < n && err == nil; i++ {
		time.Sleep(gap)
		if err = event(i); err != nil {
			err = fmt.Errorf("%s, event %d: %w", name, i+1, err)
		}
	}
	time.Sleep(gap)
	l.stop()
	r.took = time.Since(start)
	r.sent, r.failed, r.refused, r.first = l.sent.Load(), l.failed.Load(), l.refused.Load(), l.first
	return r, err
}
