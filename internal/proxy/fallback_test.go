package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/testnet"
)

// refusingTarget is a target every dial to which is refused, as when a
// new release crashed.
func refusingTarget(t *testing.T, name string) Target {
	t.Helper()
	return Target{Name: name, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(testnet.RefusedPort(t)))}
}

// echoTarget answers "name method body" to every request.
func echoTarget(t *testing.T, name string) Target {
	t.Helper()
	addr := newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, name+" "+r.Method+" "+string(b))
	}))
	return Target{Name: name, Addr: addr}
}

type fallbackCall struct {
	method, body string
}

// A request the live target refuses reaches the previous live target, on
// every tier, with its body; the live target's numbers show the refusal
// and no failed request, and the client sees no error.
func TestRefusedRequestGoesToFallback(t *testing.T) {
	t.Parallel()
	post := fallbackCall{method: "POST", body: strings.Repeat("payload-", 4096)}
	tests := []struct {
		name  string
		lane  string
		h2    bool
		calls []fallbackCall // on one client connection
	}{
		{name: "event loop GET", lane: "loop", calls: []fallbackCall{{method: "GET"}}},
		{name: "goroutine lane GET", lane: "goroutines", calls: []fallbackCall{{method: "GET"}}},
		{name: "net/http POST with a body", lane: "loop", calls: []fallbackCall{post}},
		// After the POST the connection stays with net/http, whose
		// handler sends the GET on its fast path.
		{name: "net/http fast path GET", lane: "goroutines", calls: []fallbackCall{post, {method: "GET"}}},
		{name: "HTTP/2 POST with a body", lane: "loop", h2: true, calls: []fallbackCall{post}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			blue := echoTarget(t, "blue")
			green := refusingTarget(t, "green")
			p := startLane(t, Config{}, tt.lane)
			p.Switch(blue)
			if prev := p.Switch(green); prev != blue {
				t.Fatalf("Switch returned %v, want %v", prev, blue)
			}
			c := newClient(t)
			if tt.h2 {
				c = h2cClient(t, &http.Transport{})
			}
			var got, want []string
			for _, call := range tt.calls {
				got = append(got, send(t, c, p, call))
				want = append(want, "200 blue "+call.method+" "+call.body)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("answers (-want +got):\n%s", diff)
			}
			g, b := p.Stats("green"), p.Stats("blue")
			n := uint64(len(tt.calls))
			if g.ConnErrors < n || g.Refused != n || g.Status5xx != 0 || g.InFlight != 0 {
				t.Errorf("green stats = %+v, want >= %d conn errors, %[2]d refused, no 5xx, none in flight", g, n)
			}
			if b.Status2xx != n || b.InFlight != 0 {
				t.Errorf("blue stats = %+v, want %d 2xx, none in flight", b, n)
			}
		})
	}
}

// send makes one request through p and returns "status body".
func send(t *testing.T, c *http.Client, p *Proxy, call fallbackCall) string {
	t.Helper()
	var body io.Reader
	if call.body != "" {
		body = strings.NewReader(call.body)
	}
	req, err := http.NewRequest(call.method, "http://"+p.Addr().String()+"/", body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", call.method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: reading answer (%s, %d of %d bytes): %v", call.method, resp.Status, len(b), resp.ContentLength, err)
	}
	return resp.Status[:3] + " " + string(b)
}

// Once the previous target is drained it is no fallback any more, and a
// switch within one color name keeps none.
func TestFallbackEndsWithDrain(t *testing.T) {
	t.Parallel()
	for _, lane := range lanes {
		t.Run(lane, func(t *testing.T) {
			t.Parallel()
			blue := echoTarget(t, "blue")
			green := refusingTarget(t, "green")
			p := startLane(t, Config{}, lane)
			p.Switch(blue)
			p.Switch(green)
			c := newClient(t)
			if got := send(t, c, p, fallbackCall{method: "GET"}); got != "200 blue GET " {
				t.Fatalf("before Drain: %q, want the fallback's answer", got)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			p.Drain(ctx, "blue")
			if got := send(t, c, p, fallbackCall{method: "GET"}); !strings.HasPrefix(got, "502 ") {
				t.Fatalf("after Drain: %q, want 502", got)
			}
			p.Switch(blue)
			p.Switch(Target{Name: "blue", Addr: green.Addr})
			if got := send(t, c, p, fallbackCall{method: "GET"}); !strings.HasPrefix(got, "502 ") {
				t.Fatalf("after a switch within blue: %q, want 502", got)
			}
		})
	}
}

// A TCP connection the live target refuses is piped to the fallback.
func TestRefusedTCPConnectionGoesToFallback(t *testing.T) {
	t.Parallel()
	blue := tcpNameServer(t, "blue")
	green := refusingTarget(t, "green")
	p := startProxy(t, Config{Protocol: "tcp"})
	p.Switch(blue)
	p.Switch(green)
	tc := dialTCP(t, p)
	if got := tc.line(t); got != "blue\n" {
		t.Fatalf("greeting %q, want the fallback's", got)
	}
	io.WriteString(tc.c, "ping\n")
	if got := tc.line(t); got != "ping\n" {
		t.Fatalf("echo %q, want ping", got)
	}
	tc.c.Close()
	eventually(t, "the connection to end on both targets", func() bool {
		return p.Stats("blue").InFlight == 0 && p.Stats("green").InFlight == 0
	})
	if g := p.Stats("green"); g.ConnErrors == 0 || g.Refused != 1 {
		t.Errorf("green stats = %+v, want the refusal counted", g)
	}
	if b := p.Stats("blue"); b.Requests != 1 {
		t.Errorf("blue stats = %+v, want 1 connection", b)
	}
}

// crashingTarget answers its first request, then, on the second one on
// the same connection, closes its listener and the connection unanswered:
// an app that crashed with the request sent.
func crashingTarget(t *testing.T, name string) Target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for i := 0; ; i++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			if i > 0 {
				ln.Close()
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"+name[:4])
		}
	}()
	return Target{Name: name, Addr: ln.Addr().String()}
}

// A GET sent on a pooled connection to an app that then died is resent
// once; when that dial is refused it goes to the fallback.
func TestResentGETGoesToFallbackWhenRetryIsRefused(t *testing.T) {
	t.Parallel()
	for _, lane := range lanes {
		t.Run(lane, func(t *testing.T) {
			t.Parallel()
			blue := echoTarget(t, "blue")
			green := crashingTarget(t, "green")
			p := startLane(t, Config{}, lane)
			p.Switch(blue)
			p.Switch(green)
			c := newClient(t)
			if got := send(t, c, p, fallbackCall{method: "GET"}); got != "200 gree" {
				t.Fatalf("first answer %q, want green's", got)
			}
			if got := send(t, c, p, fallbackCall{method: "GET"}); got != "200 blue GET " {
				t.Fatalf("second answer %q, want the fallback's", got)
			}
		})
	}
}

// A request that started on the candidate just before the switch back,
// and is refused, goes to the live target: the fallback is then the
// candidate itself.
func TestRefusedAfterSwitchBackGoesToLive(t *testing.T) {
	t.Parallel()
	blue := echoTarget(t, "blue")
	green := refusingTarget(t, "green")
	p := startProxy(t, Config{})
	p.Switch(blue)
	p.Switch(green)
	rt := p.acquire(pinNone) // on green
	p.Switch(blue)
	fb := p.fallback(rt)
	if fb == nil || fb.target != blue {
		t.Fatalf("fallback = %v, want the live %v", fb, blue)
	}
	fb.release()
	if g, b := p.Stats("green"), p.Stats("blue"); g.InFlight != 0 || g.Refused != 1 || b.InFlight != 0 || b.Requests != 1 {
		t.Fatalf("green %+v, blue %+v: want the request moved to blue", g, b)
	}
}
