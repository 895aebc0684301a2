package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSwitchUnderLoadLosesNothing(t *testing.T) {
	t.Parallel()
	_, blue := nameServer(t, "blue")
	_, green := nameServer(t, "green")
	p := startProxy(t, Config{})
	p.Switch(blue)
	c := newClient(t)

	const workers, perWorker = 8, 300
	var (
		done     atomic.Int64
		failures atomic.Int64
		mu       sync.Mutex
		served   = map[string]int{}
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for range perWorker {
				status, body, err := get(t, c, p, "/")
				if err != nil || status != http.StatusOK {
					failures.Add(1)
					t.Errorf("request failed: status %d, err %v", status, err)
				}
				mu.Lock()
				served[body]++
				mu.Unlock()
				// Switch every 150 requests, from inside the load, so
				// switches land while requests are in flight.
				if done.Add(1)%150 == 0 {
					if p.Live() == blue {
						p.Switch(green)
					} else {
						p.Switch(blue)
					}
				}
			}
		})
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed across switches", n, workers*perWorker)
	}
	if served["blue"] == 0 || served["green"] == 0 || served["blue"]+served["green"] != workers*perWorker {
		t.Fatalf("served = %v, want both targets and %d in total", served, workers*perWorker)
	}
	got := map[string]uint64{"blue": p.Stats("blue").Status2xx, "green": p.Stats("green").Status2xx}
	want := map[string]uint64{"blue": uint64(served["blue"]), "green": uint64(served["green"])}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("per-target 2xx counts differ from what clients saw (-want +got):\n%s", diff)
	}
}

// A keep-alive connection opened before the switch must carry its next
// request to the new target: the choice is per request, not per connection.
func TestKeepAliveConnFollowsSwitch(t *testing.T) {
	t.Parallel()
	_, blue := nameServer(t, "blue")
	_, green := nameServer(t, "green")
	p := startProxy(t, Config{})
	p.Switch(blue)
	c := newClient(t)

	var reused []bool
	do := func() string {
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", "http://"+p.Addr().String()+"/", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	first := do()
	if prev := p.Switch(green); prev != blue {
		t.Errorf("Switch returned %v, want %v", prev, blue)
	}
	second := do()
	if diff := cmp.Diff([]string{"blue", "green"}, []string{first, second}); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{false, true}, reused); diff != "" {
		t.Errorf("client connection reuse (-want +got):\n%s", diff)
	}
}

func TestInFlightRequestFinishesOnOldTarget(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	release := make(chan struct{})
	slow := newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		io.WriteString(w, "blue")
	}))
	blue := Target{Name: "blue", Addr: slow}
	_, green := nameServer(t, "green")
	p := startProxy(t, Config{})
	p.Switch(blue)
	c := newClient(t)

	type result struct {
		Status int
		Body   string
	}
	first := make(chan result, 1)
	go func() {
		status, body, err := get(t, c, p, "/slow")
		if err != nil {
			t.Errorf("slow GET: %v", err)
		}
		first <- result{status, body}
	}()
	<-arrived
	p.Switch(green)
	if _, body, err := get(t, c, p, "/"); err != nil || body != "green" {
		t.Fatalf("request after switch: body %q, err %v; want green", body, err)
	}
	if got := p.Stats("blue").InFlight; got != 1 {
		t.Errorf("blue in flight = %d, want 1", got)
	}
	// Drain runs here, so it counts the request before the timer lets it
	// finish (a Drain in a goroutine could start after it had finished).
	time.AfterFunc(50*time.Millisecond, func() { close(release) })
	drained := p.Drain(context.Background(), "blue")
	if diff := cmp.Diff(result{200, "blue"}, <-first); diff != "" {
		t.Errorf("in-flight request (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(DrainResult{Drained: 1}, drained); diff != "" {
		t.Errorf("Drain (-want +got):\n%s", diff)
	}
}
