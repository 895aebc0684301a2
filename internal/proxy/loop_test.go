package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Tests of what the event loops handle differently from the goroutine
// lane: answers that do not fit the socket, clients that leave mid-way,
// pooled backend connections, targets named by host name. Each runs on
// both lanes, which must behave alike.

func forLanes(t *testing.T, test func(t *testing.T, lane string)) {
	for _, lane := range lanes {
		t.Run(lane, func(t *testing.T) {
			t.Parallel()
			test(t, lane)
		})
	}
}

// A client that sends many requests before reading any answer makes the
// proxy's writes fill the socket and wait for it; every answer must still
// arrive, whole and in order.
func TestSlowReaderGetsEveryAnswer(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("x", 8<<10)
	addr := newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path+body)
	}))
	forLanes(t, func(t *testing.T, lane string) {
		p := startLane(t, Config{}, lane)
		p.Switch(Target{Name: "blue", Addr: addr})
		c := dialRaw(t, p)
		const n = 400 // 3.2 MB of answers: more than the socket buffers hold
		go func() {
			var sb strings.Builder
			for i := range n {
				fmt.Fprintf(&sb, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
			}
			io.WriteString(c, sb.String())
		}()
		time.Sleep(200 * time.Millisecond) // let the proxy run into a full socket
		for i := range n {
			got := c.read(t, "GET")
			if want := fmt.Sprintf("/%d", i) + body; got.Status != 200 || got.Body != want {
				t.Fatalf("answer %d: status %d, body %.20q..., want 200 %.20q...", i, got.Status, got.Body, want)
			}
		}
	})
}

// A client that leaves while its request is at the backend must not leave
// the request counted in flight (Drain would wait for it), nor its backend
// connection in the pool with an unread answer on it.
func TestClientLeavesMidRequest(t *testing.T) {
	t.Parallel()
	forLanes(t, func(t *testing.T, lane string) {
		arrived := make(chan struct{}, 1)
		release := make(chan struct{})
		addr := newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				arrived <- struct{}{}
				<-release
			}
			io.WriteString(w, "answer to "+r.URL.Path)
		}))
		p := startLane(t, Config{}, lane)
		p.Switch(Target{Name: "blue", Addr: addr})
		c := dialRaw(t, p)
		io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
		<-arrived
		c.Close()
		close(release)
		eventually(t, "nothing in flight", func() bool { return p.Stats("blue").InFlight == 0 })
		for i := range 3 {
			c := dialRaw(t, p)
			io.WriteString(c, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
			if got := c.read(t, "GET"); got.Body != "answer to /next" {
				t.Fatalf("request %d after the client left: %+v", i, got)
			}
		}
	})
}

// After a Drain, the proxy holds no idle connection to the old target, so
// stopping that instance waits for nobody.
func TestDrainClosesPooledConnections(t *testing.T) {
	t.Parallel()
	forLanes(t, func(t *testing.T, lane string) {
		s, open := newTrackedServer(t, nil)
		p := startLane(t, Config{}, lane)
		p.Switch(Target{Name: "blue", Addr: s})
		client := newClient(t)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 20 {
					if status, _, err := get(t, client, p, "/"); err != nil || status != 200 {
						t.Errorf("GET: %d, %v", status, err)
						return
					}
				}
			})
		}
		wg.Wait()
		if open.count() == 0 {
			t.Fatal("no backend connection stayed open: nothing to test")
		}
		p.Switch(Target{})
		if got := p.Drain(context.Background(), "blue"); got.Cut != 0 {
			t.Errorf("Drain = %+v, want nothing cut", got)
		}
		eventually(t, "no connection to the drained target", func() bool { return open.count() == 0 })
	})
}

// newTrackedServer is an HTTP backend serving h, or "ok" if h is nil,
// that counts its open connections.
func newTrackedServer(t *testing.T, h http.Handler) (string, *connCount) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	}
	open := &connCount{open: map[net.Conn]bool{}}
	srv := &http.Server{Handler: h, ConnState: open.track}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), open
}

// connCount follows a server's connections through its ConnState hook.
type connCount struct {
	mu   sync.Mutex
	open map[net.Conn]bool
}

func (n *connCount) track(c net.Conn, st http.ConnState) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch st {
	case http.StateNew:
		n.open[c] = true
	case http.StateClosed, http.StateHijacked:
		delete(n.open, c)
	}
}

func (n *connCount) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.open)
}

// A target named by host name is served too: the loops dial only IP
// literals and leave such targets to the goroutine lane.
func TestTargetByHostName(t *testing.T) {
	t.Parallel()
	addr := newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "by name")
	}))
	_, port, _ := net.SplitHostPort(addr)
	forLanes(t, func(t *testing.T, lane string) {
		p := startLane(t, Config{}, lane)
		p.Switch(Target{Name: "blue", Addr: "localhost:" + port})
		c := dialRaw(t, p)
		for range 2 {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			if got := c.read(t, "GET"); got.Status != 200 || got.Body != "by name" {
				t.Fatalf("answer: %+v", got)
			}
		}
	})
}

// A backend that does not answer within the request timeout gets the
// client a 504 on both lanes, and the request leaves the in-flight count.
func TestRequestTimeoutOnEachLane(t *testing.T) {
	t.Parallel()
	addr := newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	forLanes(t, func(t *testing.T, lane string) {
		p := startLane(t, Config{RequestTimeout: 100 * time.Millisecond}, lane)
		p.Switch(Target{Name: "blue", Addr: addr})
		c := dialRaw(t, p)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if got := c.read(t, "GET"); got.Status != http.StatusGatewayTimeout {
			t.Errorf("answer %+v, want 504", got)
		}
		if st := p.Stats("blue"); st.Status5xx != 1 || st.InFlight != 0 {
			t.Errorf("stats %+v, want one 5xx and nothing in flight", st)
		}
	})
}

// A loop keeps a bounded number of idle connections to a target: a burst
// of concurrent requests must not leave one backend connection each.
func TestLoopPoolIsBounded(t *testing.T) {
	t.Parallel()
	const clients = 3 * loopIdleMax
	var arrived sync.WaitGroup
	arrived.Add(clients)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	// Every request waits for all the others, so the proxy holds one
	// backend connection per client at once.
	addr, open := newTrackedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		select {
		case <-all:
		case <-time.After(10 * time.Second):
		}
		io.WriteString(w, "ok")
	}))
	p := startProxy(t, Config{})
	p.Switch(Target{Name: "blue", Addr: addr})
	var wg sync.WaitGroup
	for range clients {
		c := dialRaw(t, p)
		wg.Go(func() {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			if got := c.read(t, "GET"); got.Body != "ok" {
				t.Errorf("answer %+v", got)
			}
		})
	}
	wg.Wait()
	loops := len(loopsOf(t, p))
	eventually(t, "idle backend connections within the bound", func() bool { return open.count() <= loops*loopIdleMax })
}

// Client connections spread evenly over the loops, so no loop serves
// most of them while another idles.
func TestConnectionsSpreadOverLoops(t *testing.T) {
	t.Parallel()
	p := startProxy(t, Config{})
	p.Switch(laneBackend(t))
	loops := loopsOf(t, p)
	if len(loops) < 2 {
		t.Skip("one loop only: GOMAXPROCS is 1")
	}
	n := 10 * len(loops)
	for range n {
		c := dialRaw(t, p)
		io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
		c.read(t, "GET") // the connection is served, so it has its loop
	}
	for i, l := range loops {
		if got := l.clients.Load(); got != int64(n/len(loops)) {
			t.Errorf("loop %d serves %d of %d connections, want %d", i, got, n, n/len(loops))
		}
	}
}

// loopsOf returns p's loops once Serve started them.
func loopsOf(t *testing.T, p *Proxy) []*evloop {
	t.Helper()
	eventually(t, "the event loops", func() bool { return p.loops.Load() != nil })
	return *p.loops.Load()
}

// Many clients mixing every kind of request the loops serve or hand on
// (small, large, chunked, 204, HEAD, slow, bodies, pipelined pairs,
// Connection: close, and clients that leave mid-request) while the live
// target flips between two colors and the old one is drained: every
// answer a client reads is the right one, nothing stays in flight, and
// Close ends it all.
func TestMixedTrafficAcrossSwitches(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("b", 40<<10)
	color := func(name string) Target {
		addr := newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			switch r.URL.Path {
			case "/big":
				io.WriteString(w, name+big)
			case "/chunked":
				io.WriteString(w, name)
				http.NewResponseController(w).Flush()
				io.WriteString(w, "/chunked")
			case "/empty":
				w.WriteHeader(http.StatusNoContent)
			case "/slow":
				time.Sleep(20 * time.Millisecond)
				io.WriteString(w, name+"/slow")
			default:
				io.WriteString(w, name+r.URL.Path)
			}
		}))
		return Target{Name: name, Addr: addr}
	}
	blue, green := color("blue"), color("green")
	forLanes(t, func(t *testing.T, lane string) {
		p := startLane(t, Config{}, lane)
		p.Switch(blue)
		stop := make(chan struct{})
		flipped := make(chan struct{})
		go func() {
			defer close(flipped)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(15 * time.Millisecond):
				}
				next, old := green, blue
				if i%2 == 1 {
					next, old = blue, green
				}
				p.Switch(next)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				if got := p.Drain(ctx, old.Name); got.Cut != 0 {
					t.Errorf("drain of %s cut %d", old.Name, got.Cut)
				}
				cancel()
			}
		}()
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Go(func() { mixedClient(t, p, w, big) })
		}
		wg.Wait()
		close(stop)
		<-flipped
		for _, name := range []string{"blue", "green"} {
			eventually(t, name+" has nothing in flight", func() bool { return p.Stats(name).InFlight == 0 })
		}
	})
}

// mixedClient sends 40 requests of mixed kinds, on one connection while
// it stays open, and checks every answer it reads.
func mixedClient(t *testing.T, p *Proxy, seed int, big string) {
	var c *rawConn
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	ok := func(got answer, path string, method string) {
		t.Helper()
		switch {
		case path == "/empty":
			if got.Status != http.StatusNoContent {
				t.Errorf("%s %s: %+v", method, path, got)
			}
		case method == "HEAD":
			if got.Status != http.StatusOK || got.Body != "" {
				t.Errorf("%s %s: %+v", method, path, got)
			}
		default:
			want := path
			if path == "/big" {
				want = big
			}
			if got.Status != http.StatusOK || (got.Body != "blue"+want && got.Body != "green"+want) {
				t.Errorf("%s %s: status %d, body %.30q", method, path, got.Status, got.Body)
			}
		}
	}
	paths := []string{"/a", "/big", "/chunked", "/empty", "/slow", "/b"}
	for i := range 40 {
		if c == nil {
			nc, err := net.Dial("tcp", p.Addr().String())
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			nc.SetDeadline(time.Now().Add(20 * time.Second))
			c = &rawConn{Conn: nc, br: bufio.NewReader(nc)}
		}
		path := paths[(seed+i)%len(paths)]
		switch (seed*7 + i) % 8 {
		case 0: // a pipelined pair
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\nGET /p%d HTTP/1.1\r\nHost: x\r\n\r\n", path, i)
			ok(c.read(t, "GET"), path, "GET")
			ok(c.read(t, "GET"), fmt.Sprintf("/p%d", i), "GET")
		case 1: // HEAD
			fmt.Fprintf(c, "HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
			ok(c.read(t, "HEAD"), path, "HEAD")
		case 2: // a body: net/http serves the connection from now on
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", path)
			ok(c.read(t, "POST"), path, "POST")
		case 3: // the last request on the connection
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path)
			ok(c.read(t, "GET"), path, "GET")
			c.Close()
			c = nil
		case 4: // leave without reading the answer
			fmt.Fprintf(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
			c.Close()
			c = nil
		default:
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
			ok(c.read(t, "GET"), path, "GET")
		}
	}
}
