package health

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/testnet"
)

// serve starts a real HTTP server and returns the Target that reaches it.
func serve(t *testing.T, h http.HandlerFunc) Target {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return Target{Host: u.Hostname(), Port: port}
}

// closedPort returns a loopback port nothing listens on while the test
// runs.
func closedPort(t *testing.T) int { return testnet.RefusedPort(t) }

func dur(d time.Duration) spec.Duration { return spec.Duration{Duration: d} }

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
