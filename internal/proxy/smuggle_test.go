package proxy

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// smuggling are requests a front proxy and berth could frame differently.
// nginx refuses each with 400 and closes the connection; so must every
// tier, before the app sees a byte of them.
var smuggling = []struct{ name, send string }{
	{"Content-Length and Transfer-Encoding", "POST /evil HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
	{"Transfer-Encoding and Content-Length", "POST /evil HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"},
	{"obs-fold in Transfer-Encoding", "POST /evil HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"},
	{"obs-fold in another field", "GET /evil HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\t2\r\n\r\n"},
	{"duplicate identical Content-Length", "POST /evil HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi"},
	{"duplicate Content-Length 0", "GET /evil HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n"},
	{"Transfer-Encoding in HTTP/1.0", "POST /evil HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"},
	{"chunk size 0x10", "POST /evil HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x10\r\n0123456789abcdef\r\n0\r\n\r\n"},
	{"chunk size -1", "POST /evil HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n"},
	{"chunk size of 17 digits", "POST /evil HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\nx\r\n0\r\n\r\n"},
	{"chunk size 2^63", "POST /evil HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8000000000000000\r\nx\r\n0\r\n\r\n"},
	{"chunk size line ending in bare LF", "POST /evil HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\nhi\r\n0\r\n\r\n"},
	{"chunk size with a space", "POST /evil HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2 \r\nhi\r\n0\r\n\r\n"},
}

func TestSmugglingIsRefusedOnEveryTier(t *testing.T) {
	t.Parallel()
	for _, tier := range tiers {
		for _, tc := range smuggling {
			t.Run(tier+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				be := newRawBackend(t, false)
				p := startTier(t, tier)
				p.Switch(be.target())
				c := dialTier(t, p, tier)
				// A request the app must not see follows, as a smuggler's would.
				go io.WriteString(c, tc.send+"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
				resp, err := http.ReadResponse(c.br, nil)
				if err != nil {
					t.Fatalf("reading the answer: %v", err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest || !resp.Close {
					t.Errorf("answer %d, close %v (%q), want 400 and close", resp.StatusCode, resp.Close, body)
				}
				if !c.closed() {
					t.Errorf("connection still open")
				}
				if got := be.received(); strings.Contains(got, "/evil") || strings.Contains(got, "/after") {
					t.Errorf("backend received:\n%s", got)
				}
			})
		}
	}
}
