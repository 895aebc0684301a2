package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestForwardedAndHopHeaders(t *testing.T) {
	t.Parallel()
	seen := make(chan http.Header, 1)
	addr := newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		h.Set("Host", r.Host)
		seen <- h
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-App", "yes")
	}))
	p := startProxy(t, Config{})
	p.Switch(Target{Name: "blue", Addr: addr})
	c := newClient(t)

	tests := []struct {
		name   string
		header map[string]string
		want   map[string]string // header -> value; "" means absent
	}{
		{
			name:   "plain request gets forwarding headers",
			header: map[string]string{"Host": "app.example"},
			want: map[string]string{
				"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http",
				"X-Forwarded-Host": "app.example", "Host": "app.example",
			},
		},
		{
			name:   "existing X-Forwarded-For is appended to",
			header: map[string]string{"X-Forwarded-For": "203.0.113.9"},
			want:   map[string]string{"X-Forwarded-For": "203.0.113.9, 127.0.0.1"},
		},
		{
			name:   "hop-by-hop headers and those named by Connection are removed",
			header: map[string]string{"Connection": "X-Secret", "X-Secret": "s", "Proxy-Authorization": "p", "X-Kept": "k"},
			want:   map[string]string{"X-Secret": "", "Proxy-Authorization": "", "Connection": "", "X-Kept": "k"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://"+p.Addr().String()+"/", nil)
			for k, v := range tc.header {
				if k == "Host" {
					req.Host = v
					continue
				}
				req.Header.Set(k, v)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			resp.Body.Close()
			h := <-seen
			got := map[string]string{}
			for k := range tc.want {
				got[k] = h.Get(k)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("headers at backend (-want +got):\n%s", diff)
			}
			respGot := map[string]string{"X-App": resp.Header.Get("X-App"), "Keep-Alive": resp.Header.Get("Keep-Alive")}
			if diff := cmp.Diff(map[string]string{"X-App": "yes", "Keep-Alive": ""}, respGot); diff != "" {
				t.Errorf("response headers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestH2CRequest(t *testing.T) {
	t.Parallel()
	_, blue := nameServer(t, "blue")
	p := startProxy(t, Config{})
	p.Switch(blue)
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protos}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://" + p.Addr().String() + "/")
	if err != nil {
		t.Fatalf("h2c GET: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	got := []any{resp.ProtoMajor, resp.StatusCode, string(body)}
	if diff := cmp.Diff([]any{2, 200, "blue"}, got); diff != "" {
		t.Errorf("h2c answer [proto status body] (-want +got):\n%s", diff)
	}
}

func TestProxyAnswers(t *testing.T) {
	t.Parallel()
	slow := newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens here any more: connections are refused

	tests := []struct {
		name       string
		target     Target
		cfg        Config
		wantStatus int
		wantBody   string
		wantStats  Stats // only counters compared
	}{
		{name: "no target", wantStatus: 503, wantBody: bodyNoTarget},
		{
			name: "backend down", target: Target{Name: "blue", Addr: dead},
			wantStatus: 502, wantBody: bodyBadGw,
			wantStats: Stats{Requests: 1, Status5xx: 1, ConnErrors: 2},
		},
		{
			name: "request timeout", target: Target{Name: "blue", Addr: slow},
			cfg:        Config{RequestTimeout: 100 * time.Millisecond},
			wantStatus: 504, wantBody: bodyTimeout,
			wantStats: Stats{Requests: 1, Status5xx: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startProxy(t, tc.cfg)
			if tc.target != (Target{}) {
				p.Switch(tc.target)
			}
			status, body, err := get(t, newClient(t), p, "/")
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			if diff := cmp.Diff([]any{tc.wantStatus, tc.wantBody}, []any{status, body}); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			got := p.Stats(tc.target.Name)
			got.Latency = Histogram{}
			if diff := cmp.Diff(tc.wantStats, got); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
		})
	}
}

// A backend that drops the first connection without answering: the proxy
// must retry on a fresh connection instead of answering 502. Go's own
// transport retries only reused connections, so this exercises ours.
func TestResetConnectionIsRetried(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := accepted.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				if n == 1 {
					c.(*net.TCPConn).SetLinger(0) // reset, not a clean close
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}()
		}
	}()
	p := startProxy(t, Config{})
	p.Switch(Target{Name: "blue", Addr: ln.Addr().String()})
	status, body, err := get(t, newClient(t), p, "/")
	if diff := cmp.Diff([]any{200, "ok", nil}, []any{status, body, err}); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	if got := p.Stats("blue").ConnErrors; got != 1 {
		t.Errorf("ConnErrors = %d, want 1", got)
	}
}

// The backend closes every keep-alive connection right after answering
// while claiming to keep it open: the classic source of rare 502s.
func TestStaleKeepAliveGivesNo502(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				c.(*net.TCPConn).SetLinger(0)
			}()
		}
	}()
	p := startProxy(t, Config{})
	p.Switch(Target{Name: "blue", Addr: ln.Addr().String()})
	c := newClient(t)
	var bad []string
	for range 200 {
		status, body, err := get(t, c, p, "/")
		if status != 200 || body != "ok" || err != nil {
			bad = append(bad, strings.TrimSpace(body))
		}
	}
	if len(bad) > 0 {
		t.Fatalf("%d of 200 requests failed: %q", len(bad), bad[0])
	}
	if accepted.Load() < 2 {
		t.Fatalf("backend saw %d connections; the test needs reuse attempts", accepted.Load())
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "port in use", cfg: Config{Listen: taken.Addr().String(), Protocol: "http"}, want: "address already in use"},
		{name: "unknown protocol", cfg: Config{Listen: "127.0.0.1:0", Protocol: "udp"}, want: "neither"},
		{name: "negative timeout", cfg: Config{Listen: "127.0.0.1:0", Protocol: "tcp", RequestTimeout: -1}, want: "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.cfg)
			if err == nil {
				p.Close()
				t.Fatalf("New succeeded, want error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}
