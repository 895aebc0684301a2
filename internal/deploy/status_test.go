package deploy

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/spec"
)

// A one-off status probe is cut at 1s; a check that needs longer (and is
// allowed to) is unknown, not failing. One that fails within its own
// timeout is failing, with its role.
func TestProbeOnceDoesNotCallASlowCheckFailing(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-time.After(1500 * time.Millisecond):
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(srv.Close)
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(p)
	check := func(path string, timeout time.Duration) spec.Check {
		return spec.Check{Name: "up", Type: spec.CheckHTTP, Role: spec.RoleLiveness, Path: path,
			ExpectStatus: 200, Timeout: spec.Duration{Duration: timeout}}
	}
	tests := []struct {
		name  string
		check spec.Check
		want  string
	}{
		{name: "fast", check: check("/", 5*time.Second), want: "ok"},
		{name: "slower than the cap", check: check("/slow", 5*time.Second), want: "unknown: up (liveness) did not answer within 1s"},
		{name: "slower than its own timeout", check: check("/slow", 300*time.Millisecond), want: "failing: up (liveness): "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := probeOnce(context.Background(), []spec.Check{tc.check}, health.Target{Host: "127.0.0.1", Port: port})
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("got %q, want %q...", got, tc.want)
			}
		})
	}
}
