package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// capacity samples an app's live set every 10 ms while a deploy runs: in
// each sample, how many members of the proxy's set (read from the API)
// answer their /up. A member leaving the set between the read and its
// probe counts if it still answered, so a sample may count one more than
// the set holds at that instant. A member that did not answer and is no
// longer in the set read after the probes had left before it stopped (the
// restore of a cut rolling deploy drains and stops the candidate at once
// when nothing is in flight): that sample is not counted. A dip that lasts
// is seen by the next samples.
type capacity struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	samples int
	least   int
	errs    []string
	low     []string // each new minimum after the first sample, and its set
}

// sampleCapacity starts sampling app's capacity (bounded: 2 minutes).
func (e *env) sampleCapacity(app string) *capacity {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c := &capacity{cancel: cancel, done: make(chan struct{}), least: 1 << 30}
	client := newClient(time.Second)
	go func() {
		defer close(c.done)
		defer client.CloseIdleConnections()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			c.sample(e, client, app)
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}()
	return c
}

func (c *capacity) sample(e *env, client *http.Client, app string) {
	ms, err := e.liveSet(app)
	if err != nil {
		c.note(fmt.Sprintf("reading the live set: %v", err))
		return
	}
	var ok sync.WaitGroup
	var mu sync.Mutex
	healthy := 0
	var failed []string
	for _, m := range ms {
		if m.Weight <= 0 {
			continue
		}
		ok.Go(func() {
			code, _, err := get(client, "http://"+m.Addr+"/up")
			mu.Lock()
			defer mu.Unlock()
			if err == nil && code == http.StatusOK {
				healthy++
			} else {
				failed = append(failed, m.Addr)
			}
		})
	}
	ok.Wait()
	if len(failed) > 0 {
		after, err := e.liveSet(app)
		if err != nil {
			c.note(fmt.Sprintf("reading the live set again: %v", err))
			return
		}
		in := map[string]bool{}
		for _, m := range after {
			if m.Weight > 0 {
				in[m.Addr] = true
			}
		}
		for _, addr := range failed {
			if !in[addr] {
				return // it left the set while probed
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.samples++
	if healthy < c.least && c.samples > 1 && len(c.low) < 10 {
		c.low = append(c.low, fmt.Sprintf("%s %d of %v", time.Now().Format("15:04:05.000"), healthy, ms))
	}
	c.least = min(c.least, healthy)
}

func (c *capacity) note(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) < 5 {
		c.errs = append(c.errs, s)
	}
}

// stop ends sampling and returns the number of samples and the least
// capacity any saw.
func (c *capacity) stop() (samples, least int, errs []string) {
	c.cancel()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.samples, c.least, c.errs
}
