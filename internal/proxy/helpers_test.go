package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// startProxy runs a proxy on a free loopback port until the test ends.
func startProxy(t *testing.T, cfg Config) *Proxy {
	t.Helper()
	return startLane(t, cfg, "loop")
}

// lanes are the two ways HTTP/1 clients are served: the event loops,
// and a goroutine per connection (where the loops eject connections to).
var lanes = []string{"loop", "goroutines"}

// startLane is startProxy with HTTP/1 clients served by lane.
func startLane(t *testing.T, cfg Config, lane string) *Proxy {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Protocol == "" {
		cfg.Protocol = "http"
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	p.noLoops = lane == "goroutines"
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return after Close")
		}
	})
	return p
}

// nameServer is a real HTTP backend answering its own name.
func nameServer(t *testing.T, name string) (*httptest.Server, Target) {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	return s, Target{Name: name, Addr: s.Listener.Addr().String()}
}

func newClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// get returns status and body of a GET through the proxy.
func get(t *testing.T, c *http.Client, p *Proxy, path string) (int, string, error) {
	t.Helper()
	resp, err := c.Get("http://" + p.Addr().String() + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newHTTPBackend serves h on a loopback port and returns its address.
func newHTTPBackend(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}
