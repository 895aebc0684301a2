package proxy

import (
	"io"
	"strings"
	"testing"
)

// A client-sent Forwarded field (RFC 7239) could claim any client address
// or scheme; like X-Forwarded-Proto and X-Forwarded-Host it must not
// reach the app as the client wrote it, on any tier, neither on the fast
// path nor on the Transport path (a request with a body).
func TestClientForwardedIsStripped(t *testing.T) {
	t.Parallel()
	requests := []struct {
		name, method, send string
	}{
		{"bodyless", "GET", "GET /f HTTP/1.1\r\nHost: x\r\nforwarded: for=6.6.6.6;proto=https\r\nX-Forwarded-Proto: https\r\n\r\n"},
		{"with body", "POST", "POST /f HTTP/1.1\r\nHost: x\r\nFORWARDED: for=6.6.6.6\r\nForwarded: proto=https\r\nX-Forwarded-Proto: https\r\nContent-Length: 1\r\n\r\nb"},
	}
	for _, tier := range tiers {
		for _, rq := range requests {
			t.Run(tier+"/"+rq.name, func(t *testing.T) {
				t.Parallel()
				be := newRawBackend(t, false)
				p := startTier(t, tier)
				p.Switch(be.target())
				c := dialTier(t, p, tier)
				io.WriteString(c, rq.send)
				if a := c.read(t, rq.method); a.Status != 200 || a.Body != "/f" {
					t.Fatalf("answer %+v", a)
				}
				got := be.received()
				_, req, _ := strings.Cut(got, "/f HTTP/1.1\r\n")
				for line := range strings.SplitSeq(req, "\r\n") {
					if k, _, _ := strings.Cut(line, ":"); strings.EqualFold(k, "Forwarded") {
						t.Errorf("backend got %q", line)
					}
				}
				if !strings.Contains(req, "X-Forwarded-Proto: http\r\n") || strings.Contains(req, "6.6.6.6") {
					t.Errorf("backend got header:\n%s", req)
				}
			})
		}
	}
}
