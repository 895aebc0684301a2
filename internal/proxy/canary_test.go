package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// headerServer answers its name, and "+pin" when the canary header
// reached it (it must not: the proxy strips it).
func headerServer(t *testing.T, name string) Target {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		out := name
		if _, ok := r.Header[CanaryHeader]; ok {
			out += "+pin"
		}
		io.WriteString(w, out)
	}))
	t.Cleanup(s.Close)
	return Target{Name: name, Addr: s.Listener.Addr().String()}
}

// canarySet is two stable and two canary members: the canary side's
// share is 2*canaryW / (2*stableW + 2*canaryW).
func canarySet(ts []Target, stableW, canaryW int) []Member {
	return []Member{
		{Target: ts[0], Weight: stableW}, {Target: ts[1], Weight: stableW},
		{Target: ts[2], Weight: canaryW, Canary: true}, {Target: ts[3], Weight: canaryW, Canary: true},
	}
}

// sendPinned makes one request in mode: a GET the lane or the loop forwards,
// or a POST, which net/http serves.
func sendPinned(t *testing.T, cl *http.Client, p *Proxy, mode, pinValue string) string {
	t.Helper()
	method, body := http.MethodGet, io.Reader(nil)
	if mode == "net/http" {
		method, body = http.MethodPost, strings.NewReader("x")
	}
	req, err := http.NewRequest(method, "http://"+p.Addr().String()+"/", body)
	if err != nil {
		t.Fatal(err)
	}
	if pinValue != "" {
		req.Header.Set(CanaryHeader, pinValue)
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", method, resp.StatusCode, b)
	}
	return string(b)
}

var canaryModes = []string{"loop", "goroutines", "net/http"}

func TestCanaryWeightsHoldOverAThousandRequests(t *testing.T) {
	t.Parallel()
	for _, pct := range []int{10, 50} {
		for _, mode := range canaryModes {
			t.Run(fmt.Sprintf("%d%%/%s", pct, mode), func(t *testing.T) {
				t.Parallel()
				ts := []Target{headerServer(t, "old.0"), headerServer(t, "old.1"), headerServer(t, "new.0"), headerServer(t, "new.1")}
				p := startLane(t, Config{}, map[bool]string{true: "goroutines", false: "loop"}[mode == "goroutines"])
				p.SwitchSet("app", canarySet(ts, 100-pct, pct))
				cl := newClient(t)
				const n = 1000
				got := map[string]int{}
				for range n {
					got[sendPinned(t, cl, p, mode, "")]++
				}
				canary := got["new.0"] + got["new.1"]
				// Sequential requests find every member idle: the split
				// alone decides, and it is exact over any n requests.
				if want := n * pct / 100; canary < want-n/50 || canary > want+n/50 {
					t.Errorf("canary side got %d of %d requests (%v), want %d within 2%%", canary, n, got, want)
				}
				// Within each side least outstanding spreads evenly.
				if got["new.0"] == 0 || got["new.1"] == 0 || got["old.0"] == 0 || got["old.1"] == 0 {
					t.Errorf("a member got nothing: %v", got)
				}
			})
		}
	}
}

func TestCanaryWeightsHoldUnderConcurrentLoad(t *testing.T) {
	t.Parallel()
	ts := []Target{headerServer(t, "old.0"), headerServer(t, "old.1"), headerServer(t, "new.0"), headerServer(t, "new.1")}
	p := startProxy(t, Config{})
	p.SwitchSet("app", canarySet(ts, 90, 10))
	cl := newClient(t)
	const workers, each = 8, 250
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				name := sendPinned(t, cl, p, "loop", "")
				mu.Lock()
				got[name]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	n := workers * each
	canary := got["new.0"] + got["new.1"]
	if want := n / 10; canary < want-n/50 || canary > want+n/50 {
		t.Errorf("canary side got %d of %d concurrent requests (%v), want %d within 2%%", canary, n, got, want)
	}
	if s := p.Stats("new.0").Requests + p.Stats("new.1").Requests; s != uint64(canary) {
		t.Errorf("the canary members' Stats count %d requests, they answered %d", s, canary)
	}
}

func TestCanaryHeaderPinsASideAndIsStripped(t *testing.T) {
	t.Parallel()
	for _, mode := range canaryModes {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ts := []Target{headerServer(t, "old.0"), headerServer(t, "old.1"), headerServer(t, "new.0"), headerServer(t, "new.1")}
			p := startLane(t, Config{}, map[bool]string{true: "goroutines", false: "loop"}[mode == "goroutines"])
			p.SwitchSet("app", canarySet(ts, 99, 1))
			cl := newClient(t)
			for i := range 40 {
				value, want := "always", "new."
				if i%2 == 1 {
					value, want = "NEVER", "old."
				}
				got := sendPinned(t, cl, p, mode, value)
				if !strings.HasPrefix(got, want) || strings.HasSuffix(got, "+pin") {
					t.Fatalf("request %d pinned %q answered by %q, want %s* without the header", i, value, got, want)
				}
			}
			// Without a split (the canary's weight went to 0) "always"
			// reaches the old release: there is no canary to pin to.
			p.SwitchSet("app", canarySet(ts, 1, 0))
			if got := sendPinned(t, cl, p, mode, "always"); !strings.HasPrefix(got, "old.") {
				t.Errorf("always without a canary answered by %q, want an old member", got)
			}
		})
	}
}

func TestSplitSideIsExact(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name         string
		share, total uint64
	}{{"10%", 20, 200}, {"1 of 3", 1, 3}, {"99%", 198, 200}, {"odd weights", 7, 19}} {
		t.Run(tt.name, func(t *testing.T) {
			sp := &split{share: tt.share, total: tt.total}
			c := uint64(0)
			for n := uint64(1); n <= 10*tt.total; n++ {
				if sp.side(n) {
					c++
				}
			}
			if c != 10*tt.share {
				t.Errorf("%d of %d requests to the canary, want %d", c, 10*tt.total, 10*tt.share)
			}
		})
	}
}
