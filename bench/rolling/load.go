package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/internal/api"
)

// load sends GET / from conns clients with keep-alive until stopped,
// counting what fails (a transport error or a non-2xx answer). With
// timed set, it keeps every request's latency.
type load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  time.Time
	took   time.Duration

	sent, failed atomic.Int64
	mu           sync.Mutex
	lat          []time.Duration
}

func startLoad(url string, conns int, timed bool, limit time.Duration) *load {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	l := &load{cancel: cancel, start: time.Now()}
	tr := &http.Transport{MaxIdleConnsPerHost: conns, DisableCompression: true}
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for range conns {
		l.wg.Go(func() {
			var mine []time.Duration
			for ctx.Err() == nil {
				t0 := time.Now()
				ok := get(c, url)
				if ctx.Err() != nil && !ok {
					break // cut by the end of the run, not a failure
				}
				l.sent.Add(1)
				if !ok {
					l.failed.Add(1)
				}
				if timed {
					mine = append(mine, time.Since(t0))
				}
			}
			l.mu.Lock()
			l.lat = append(l.lat, mine...)
			l.mu.Unlock()
		})
	}
	go func() { l.wg.Wait(); tr.CloseIdleConnections() }()
	return l
}

func get(c *http.Client, url string) bool {
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return err == nil && resp.StatusCode/100 == 2
}

// stop ends the load and waits for the clients.
func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
	l.took = time.Since(l.start)
}

func (l *load) rps() float64 { return float64(l.sent.Load()) / l.took.Seconds() }

func (l *load) p99() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return quantile(l.lat, 0.99)
}

// capacity samples the app's live set every 10 ms: how many members of
// the proxy's set (read through the API) answer /up. A member that left
// the set between the read and its probe counts while it still answers,
// so a sample can be one above the set at that instant; a lasting dip is
// seen by the next samples.
type capacity struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu                 sync.Mutex
	samples, readFails int
	least              int
	low                []string // the first samples at a new minimum
}

func sampleCapacity(cl *api.Client, app string, limit time.Duration) *capacity {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	c := &capacity{cancel: cancel, done: make(chan struct{}), least: 1 << 30}
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	hc := &http.Client{Transport: tr, Timeout: time.Second}
	go func() {
		defer close(c.done)
		defer tr.CloseIdleConnections()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			c.sample(ctx, cl, hc, app)
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}()
	return c
}

func (c *capacity) sample(ctx context.Context, cl *api.Client, hc *http.Client, app string) {
	ms, err := cl.LiveSet(ctx, app)
	if err != nil {
		c.mu.Lock()
		c.readFails++
		c.mu.Unlock()
		return
	}
	var wg sync.WaitGroup
	var healthy atomic.Int64
	for _, m := range ms {
		if m.Weight > 0 {
			wg.Go(func() {
				if get(hc, "http://"+m.Addr+"/up") {
					healthy.Add(1)
				}
			})
		}
	}
	wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.samples++
	if h := int(healthy.Load()); h < c.least {
		if len(c.low) < 5 {
			c.low = append(c.low, fmt.Sprintf("%s: %d of %v", time.Now().UTC().Format("15:04:05.000"), h, ms))
		}
		c.least = h
	}
}

// stop ends sampling and returns the number of samples, of failed reads
// of the set, and the least capacity seen.
func (c *capacity) stop() (samples, readFails, least int) {
	c.cancel()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.samples, c.readFails, c.least
}

func quantile(xs []time.Duration, q float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
