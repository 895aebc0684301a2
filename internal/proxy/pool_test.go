package proxy

import (
	"fmt"
	"io"
	"testing"
	"time"
)

// An app that writes bytes after its answer must not have them delivered
// as the answer to the next request on that backend connection, which
// may be another user's: on every tier, the next requests get their own
// answers.
func TestUnsolicitedBytesNeverReachTheNextRequest(t *testing.T) {
	t.Parallel()
	for _, tier := range tiers {
		for _, delay := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/delayed=%v", tier, delay), func(t *testing.T) {
				t.Parallel()
				be := newRawBackend(t, delay)
				p := startTier(t, tier)
				p.Switch(be.target())
				a := dialTier(t, p, tier)
				b := dialTier(t, p, tier)
				for i := range 3 {
					io.WriteString(a, "GET /chatty HTTP/1.1\r\nHost: x\r\n\r\n")
					if got := a.read(t, "GET"); got.Body != "/chatty" {
						t.Fatalf("round %d: /chatty answered %+v", i, got)
					}
					select {
					case <-be.wrote:
					case <-time.After(10 * time.Second):
						t.Fatal("backend wrote no unsolicited answer")
					}
					for j := range 3 {
						c := a
						if j%2 == 1 {
							c = b
						}
						path := fmt.Sprintf("/next-%d-%d", i, j)
						io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
						if got := c.read(t, "GET"); got.Status != 200 || got.Body != path {
							t.Fatalf("round %d: %s answered %+v", i, path, got)
						}
					}
				}
			})
		}
	}
}
