package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// protocol = "tcp": blue-green for any TCP service. New connections go to
// the new color at the switch, open ones drain on the old: a client that
// opens a connection per request sees no failure across deploys.
func TestBlueGreenTCP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	tcp := app{name: "raw", version: "v1", mode: "good", listen: port, protocol: "tcp", checks: `
[[checks]]
name = "port"
type = "tcp"
interval = "200ms"
timeout = "1s"
retries = 2
start_period = "2s"
`}
	spec := func(v string) app {
		a := tcp
		a.version = v
		return a
	}
	e.mustDeploy(spec("v1"))
	e.waitAnswer(port, "hello from v1")

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var sent, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 20_000; n++ {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	e.mustDeploy(spec("v2"))
	e.mustDeploy(spec("v3"))
	close(stop)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d connections failed across TCP deploys; first: %v", failed.Load(), sent.Load(), firstErr.Load())
	}
	if sent.Load() == 0 {
		t.Fatal("no traffic was sent")
	}
	e.waitAnswer(port, "hello from v3")
	bound := false
	for _, s := range e.latest("raw").Steps {
		bound = bound || (strings.HasPrefix(s.Name, "bind ") && strings.HasPrefix(s.Detail, "tcp"))
	}
	if !bound {
		t.Fatalf("the deploy's bind step does not say tcp: %+v", e.latest("raw").Steps)
	}
}
