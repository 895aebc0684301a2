package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchd"
)

// streamResult is what one SSE client saw.
type streamResult struct {
	events  int
	ended   bool // got the agent's "event: end": the stream ran to its natural end
	version string
	err     error
}

// streamRun is one deploy with long-lived streams open through the proxy.
type streamRun struct {
	strategy      string
	streams, cut  int
	wrongVersion  int
	drained, hcut int // berth's history for the deploy
	deployTook    time.Duration
	afterVersion  string // what a new request got after the deploy
	firstErr      string
}

// openStreams opens n SSE streams of secs seconds and returns once each
// has received its first event; results arrive on the returned channel.
func openStreams(ctx context.Context, url string, n, secs int) (<-chan streamResult, error) {
	c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: n}}
	out := make(chan streamResult, n)
	var started sync.WaitGroup
	started.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			var once sync.Once
			ready := func() { once.Do(started.Done) }
			defer ready()
			out <- readStream(ctx, c, fmt.Sprintf("%s/events?seconds=%d", url, secs), ready)
		}()
	}
	wait := make(chan struct{})
	go func() { started.Wait(); close(wait) }()
	select {
	case <-wait:
		return out, nil
	case <-time.After(15 * time.Second):
		return out, fmt.Errorf("%d SSE streams did not all start within 15s", n)
	}
}

func readStream(ctx context.Context, c *http.Client, url string, ready func()) streamResult {
	var r streamResult
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		r.err = err
		return r
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		r.err = fmt.Errorf("status %s", resp.Status)
		return r
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "event: end":
			r.ended = true
		case strings.HasPrefix(line, "data: ") && !r.ended:
			r.events++
			if f := strings.Fields(line); len(f) == 3 && r.version == "" {
				r.version = f[1]
			}
			ready()
		}
	}
	r.err = sc.Err()
	return r
}

// streamsDuringDeploy opens n streams on v1 and deploys v2 with strategy;
// streams that end without their end event were cut.
func streamsDuringDeploy(ctx context.Context, d *daemon, name, strategy string, n, secs int) (streamRun, error) {
	r := streamRun{strategy: strategy, streams: n}
	addr, err := benchd.FreeAddr()
	if err != nil {
		return r, err
	}
	s := loadSpec(name, "v1", strategy)
	s.listen = addr
	s.drainTimeout = fmt.Sprintf("%ds", secs+30)
	if _, err := d.deploy(ctx, s); err != nil {
		return r, fmt.Errorf("first deploy of %s: %w", name, err)
	}
	sctx, cancel := context.WithTimeout(ctx, time.Duration(secs+60)*time.Second)
	defer cancel()
	results, err := openStreams(sctx, "http://"+addr, n, secs)
	if err != nil {
		return r, err
	}
	s.version = "v2"
	dep, err := d.deploy(ctx, s)
	if err != nil {
		return r, fmt.Errorf("deploying %s v2: %w", name, err)
	}
	r.deployTook, r.drained, r.hcut = dep.EndedAt.Sub(dep.StartedAt), dep.Drained, dep.Cut
	r.afterVersion = getVersion("http://" + addr + "/version")
	for i := 0; i < n; i++ {
		sr := <-results
		if !sr.ended {
			r.cut++
			if r.firstErr == "" {
				r.firstErr = fmt.Sprintf("after %d events: %v", sr.events, sr.err)
			}
		}
		if sr.version != "v1" {
			r.wrongVersion++
		}
	}
	return r, nil
}

func getVersion(url string) string {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b := make([]byte, 64)
	k, _ := resp.Body.Read(b)
	return strings.TrimSpace(string(b[:k]))
}

func streamsTable(runs []streamRun, secs int) string {
	t := &table{head: []string{"deploy", "streams", "cut (client)", "ran to their end", "history drained", "history cut",
		"deploy took", "new request after"}}
	for _, r := range runs {
		t.row(r.strategy+" v1->v2", r.streams, r.cut, r.streams-r.cut, r.drained, r.hcut, ms(r.deployTook), r.afterVersion)
	}
	return t.String() + fmt.Sprintf("\nEach stream is GET /events?seconds=%d through the proxy (one event every 100 ms, "+
		"then `event: end`); all are open and have received an event before the deploy starts. A stream that closes "+
		"without `event: end` is cut. drain_timeout %ds; the restart control has stop_timeout 5s.\n", secs, secs+30)
}
