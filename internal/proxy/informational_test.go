package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// h2cClient speaks HTTP/2 with prior knowledge to the proxy.
func h2cClient(t *testing.T, tr *http.Transport) *http.Client {
	t.Helper()
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	tr.Protocols = &protos
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// The backend sends 103 and then waits until the client saw it before it
// answers, so the test fails unless the 103 is passed on at once.
func TestEarlyHintsReachClientFirst(t *testing.T) {
	t.Parallel()
	const link = "</app.css>; rel=preload; as=style"
	tests := []struct {
		name   string
		h2     bool
		method string
		header map[string]string
		// handOff first sends a POST so that the connection is served
		// by net/http rather than the lane.
		handOff bool
		lane    string // of startLane; "loop" if empty
	}{
		{name: "HTTP/1.1 GET on the event loop", method: "GET"},
		{name: "HTTP/1.1 GET on the goroutine lane", method: "GET", lane: "goroutines"},
		{name: "HTTP/1.1 request with a body", method: "POST"},
		{name: "HTTP/2 cleartext GET", h2: true, method: "GET"},
		{
			name: "HTTP/1.1 navigation on a handed-off connection", method: "GET",
			header: map[string]string{"Sec-Fetch-Mode": "navigate"}, handOff: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seen := make(chan struct{})
			var seenOnce sync.Once
			addr := newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if r.URL.Path != "/hints" {
					io.WriteString(w, "warm-up")
					return
				}
				w.Header().Set("Link", link)
				w.WriteHeader(http.StatusEarlyHints)
				select {
				case <-seen:
				case <-time.After(5 * time.Second):
				}
				w.Header().Del("Link")
				io.WriteString(w, "final")
			}))
			lane := tc.lane
			if lane == "" {
				lane = "loop"
			}
			p := startLane(t, Config{}, lane)
			p.Switch(Target{Name: "blue", Addr: addr})
			tr := &http.Transport{MaxConnsPerHost: 1, DisableCompression: true}
			c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
			t.Cleanup(tr.CloseIdleConnections)
			if tc.h2 {
				c = h2cClient(t, tr)
			}
			base := "http://" + p.Addr().String()
			if tc.handOff {
				resp, err := c.Post(base+"/warm", "text/plain", strings.NewReader("x"))
				if err != nil {
					t.Fatalf("warm-up POST: %v", err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}

			var mu sync.Mutex
			var events []string
			reused := false
			trace := &httptrace.ClientTrace{
				GotConn: func(ci httptrace.GotConnInfo) { reused = ci.Reused },
				Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
					mu.Lock()
					events = append(events, fmt.Sprintf("%d %s", code, h.Get("Link")))
					mu.Unlock()
					seenOnce.Do(func() { close(seen) })
					return nil
				},
			}
			var body io.Reader
			if tc.method == "POST" {
				body = strings.NewReader("payload")
			}
			req, _ := http.NewRequest(tc.method, base+"/hints", body)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", tc.method, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mu.Lock()
			events = append(events, fmt.Sprintf("%d %s Link=%q", resp.StatusCode, b, resp.Header.Get("Link")))
			got := events
			mu.Unlock()
			want := []string{"103 " + link, `200 final Link=""`}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("answers in the order the client saw them (-want +got):\n%s", diff)
			}
			if tc.handOff && !reused {
				t.Errorf("the request took a new connection; the test needs the handed-off one")
			}
		})
	}
}

// RFC 9110 section 15.2: no 1xx for an HTTP/1.0 client.
func TestNoInformationalToHTTP10(t *testing.T) {
	t.Parallel()
	addr := newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "final")
	}))
	p := startProxy(t, Config{})
	p.Switch(Target{Name: "blue", Addr: addr})
	for _, req := range []string{
		"POST / HTTP/1.0\r\nHost: app\r\nContent-Length: 1\r\n\r\nx", // net/http
		"GET / HTTP/1.0\r\nHost: app\r\n\r\n",                        // the lane
	} {
		c := dialRaw(t, p)
		io.WriteString(c, req)
		method, _, _ := strings.Cut(req, " ")
		got := c.read(t, method)
		if diff := cmp.Diff(answer{Status: 200, Body: "final"}, answer{Status: got.Status, Body: got.Body}); diff != "" {
			t.Errorf("first answer to an HTTP/1.0 %s (-want +got):\n%s", method, diff)
		}
	}
}

// watchedBody records whether the client sent its request body.
type watchedBody struct {
	read atomic.Bool
	r    io.Reader
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.r.Read(p)
}

// ignoreExpectBackend reads each request body without sending 100
// Continue first, as HTTP/1.0-era servers do.
func ignoreExpectBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					b, _ := io.ReadAll(req.Body)
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\ngot %s", len(b)+4, b)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// The client waits (up to 30s) for 100 Continue before it sends its body;
// the proxy must give it one exactly when the app wants the body.
func TestExpectContinue(t *testing.T) {
	t.Parallel()
	type result struct {
		Status   int
		Body     string
		Got100   bool
		BodySent bool
	}
	backends := map[string]func(t *testing.T) string{
		"reads": func(t *testing.T) string {
			return newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				fmt.Fprintf(w, "got %s", b)
			}))
		},
		"refuses": func(t *testing.T) string {
			return newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				io.WriteString(w, "too big")
			}))
		},
		"ignores": ignoreExpectBackend,
	}
	tests := []struct {
		name    string
		backend string
		h2      bool
		want    result
	}{
		{name: "HTTP/1.1, app reads the body", backend: "reads", want: result{200, "got payload", true, true}},
		{name: "HTTP/2, app reads the body", backend: "reads", h2: true, want: result{200, "got payload", true, true}},
		{name: "HTTP/1.1, app refuses it unread", backend: "refuses", want: result{413, "too big", false, false}},
		// Go's HTTP/2 server drops Expect from the request and sends 100
		// at the first body read (net/http/internal/httpcommon's
		// NewServerRequest), so the proxy cannot wait for the app: the
		// client uploads the body the app then refuses.
		{name: "HTTP/2, app refuses it unread", backend: "refuses", h2: true, want: result{413, "too big", true, true}},
		{name: "HTTP/1.1, app ignores Expect", backend: "ignores", want: result{200, "got payload", true, true}},
		{name: "HTTP/2, app ignores Expect", backend: "ignores", h2: true, want: result{200, "got payload", true, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startProxy(t, Config{})
			p.Switch(Target{Name: "blue", Addr: backends[tc.backend](t)})
			tr := &http.Transport{ExpectContinueTimeout: 30 * time.Second}
			c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
			t.Cleanup(tr.CloseIdleConnections)
			if tc.h2 {
				c = h2cClient(t, tr)
			}
			var got100 atomic.Bool
			trace := &httptrace.ClientTrace{Got100Continue: func() { got100.Store(true) }}
			body := &watchedBody{r: strings.NewReader("payload")}
			req, _ := http.NewRequest("POST", "http://"+p.Addr().String()+"/", body)
			req.ContentLength = int64(len("payload"))
			req.Header.Set("Expect", "100-continue")
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got := result{resp.StatusCode, string(b), got100.Load(), body.read.Load()}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
