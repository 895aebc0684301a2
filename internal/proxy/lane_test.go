package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// These tests speak raw HTTP/1 to the proxy, because Go's client would
// hide the connection handling the lane is responsible for.

// bigBody is larger than every buffer on the way.
var bigBody = strings.Repeat("0123456789abcdef", 20<<10)

// laneBackend answers "<method> <path>"; on /chunked a body of unknown
// length, on /empty 204, on /big bigBody.
func laneBackend(t *testing.T) Target {
	addr := newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "part1 ")
			http.NewResponseController(w).Flush()
			io.WriteString(w, "part2")
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/big":
			w.Header().Set("Content-Length", fmt.Sprint(len(bigBody)))
			io.WriteString(w, bigBody)
		default:
			fmt.Fprintf(w, "%s %s", r.Method, r.URL.Path)
		}
	}))
	return Target{Name: "blue", Addr: addr}
}

type rawConn struct {
	net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, p *Proxy) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{Conn: c, br: bufio.NewReader(c)}
}

// answer is what a test compares of one response.
type answer struct {
	Status     int
	Body       string
	Connection string
	Chunked    bool
}

func (c *rawConn) read(t *testing.T, method string) answer {
	t.Helper()
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	chunked := len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked"
	conn := resp.Header.Get("Connection") // ReadResponse turns "close" into resp.Close
	if resp.Close {
		conn = "close"
	}
	return answer{resp.StatusCode, string(b), conn, chunked}
}

// closed reports whether the proxy closed the connection; it would do so
// right after its answer, so a short wait is enough.
func (c *rawConn) closed() bool {
	c.SetReadDeadline(time.Now().Add(time.Second))
	_, err := c.br.ReadByte()
	return err == io.EOF
}

func TestLaneConnectionHandling(t *testing.T) {
	t.Parallel()
	blue := laneBackend(t)
	tests := []struct {
		name       string
		send       string
		methods    []string // of the requests sent, to read their answers
		want       []answer
		wantClosed bool
	}{
		{
			name:    "pipelined requests answered in order",
			send:    "GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\nOPTIONS /c HTTP/1.1\r\nHost: x\r\n\r\n",
			methods: []string{"GET", "HEAD", "OPTIONS"},
			want:    []answer{{Status: 200, Body: "GET /a"}, {Status: 200}, {Status: 200, Body: "OPTIONS /c"}},
		},
		{
			name:       "HTTP/1.0 closes by default",
			send:       "GET /a HTTP/1.0\r\n\r\n",
			methods:    []string{"GET"},
			want:       []answer{{Status: 200, Body: "GET /a", Connection: "close"}},
			wantClosed: true,
		},
		{
			name:    "HTTP/1.0 keep-alive stays open",
			send:    "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
			methods: []string{"GET", "GET"},
			want: []answer{
				{Status: 200, Body: "GET /a", Connection: "keep-alive"},
				{Status: 200, Body: "GET /b", Connection: "keep-alive"},
			},
		},
		{
			name:       "connection close is honoured",
			send:       "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n",
			methods:    []string{"GET"},
			want:       []answer{{Status: 200, Body: "GET /a", Connection: "close"}},
			wantClosed: true,
		},
		{
			name:    "unknown length is chunked for HTTP/1.1",
			send:    "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\nGET /empty HTTP/1.1\r\nHost: x\r\n\r\n",
			methods: []string{"GET", "GET"},
			want:    []answer{{Status: 200, Body: "part1 part2", Chunked: true}, {Status: 204}},
		},
		{
			name:    "a large body follows its header",
			send:    "GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n",
			methods: []string{"GET", "GET"},
			want:    []answer{{Status: 200, Body: bigBody}, {Status: 200, Body: "GET /a"}},
		},
		{
			name:       "unknown length ends with the connection for HTTP/1.0",
			send:       "GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
			methods:    []string{"GET"},
			want:       []answer{{Status: 200, Body: "part1 part2", Connection: "close"}},
			wantClosed: true,
		},
		{
			name:    "a body hands over to net/http for the rest of the connection",
			send:    "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
			methods: []string{"GET", "POST", "GET"},
			want:    []answer{{Status: 200, Body: "GET /a"}, {Status: 200, Body: "POST /p"}, {Status: 200, Body: "GET /b"}},
		},
		{
			name:       "malformed request line is net/http's 400",
			send:       "GET /a HTTP/1.1\r\nHost: x\r\n\r\nNOT A REQUEST\r\n\r\n",
			methods:    []string{"GET", "GET"},
			want:       []answer{{Status: 200, Body: "GET /a"}, {Status: 400, Body: "400 Bad Request", Connection: "close"}},
			wantClosed: true,
		},
		{
			name:       "oversized header is net/http's 431",
			send:       "GET /a HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 100<<10) + "\r\n\r\n",
			methods:    []string{"GET"},
			want:       []answer{{Status: 431, Body: "431 Request Header Fields Too Large", Connection: "close"}},
			wantClosed: true,
		},
	}
	for _, lane := range lanes {
		for _, tc := range tests {
			t.Run(lane+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				p := startLane(t, Config{}, lane)
				p.Switch(blue)
				c := dialRaw(t, p)
				go io.WriteString(c, tc.send) // a big header may not fit the socket buffer
				var got []answer
				for _, m := range tc.methods {
					got = append(got, c.read(t, m))
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("answers (-want +got):\n%s", diff)
				}
				if closed := c.closed(); closed != tc.wantClosed {
					t.Errorf("connection closed = %v, want %v", closed, tc.wantClosed)
				}
			})
		}
	}
}

// A connection that starts on the lane and then asks for an Upgrade is
// handed to net/http mid-way and gets its tunnel.
func TestLaneHandsUpgradeToNetHTTP(t *testing.T) {
	t.Parallel()
	blue := Target{Name: "blue", Addr: echoUpgradeServer(t)}
	p := startProxy(t, Config{})
	p.Switch(blue)
	c := dialRaw(t, p)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: app\r\n\r\n")
	if got := c.read(t, "GET"); got.Status != http.StatusUpgradeRequired {
		t.Fatalf("plain GET answered %+v, want 426 from the backend", got)
	}
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: app\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answer: %v, %v", resp, err)
	}
	io.WriteString(c, "hello\n")
	if line, err := c.br.ReadString('\n'); line != "hello\n" {
		t.Fatalf("echo: %q, %v", line, err)
	}
}

// Drain must be able to cut a slow request on the lane, and the client
// must get an answer or a closed connection, not a hang.
func TestLaneDrainCutsSlowRequest(t *testing.T) {
	t.Parallel()
	for _, lane := range lanes {
		t.Run(lane, func(t *testing.T) {
			t.Parallel()
			testDrainCutsSlowRequest(t, lane)
		})
	}
}

func testDrainCutsSlowRequest(t *testing.T, lane string) {
	arrived := make(chan struct{}, 1)
	slow := newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	p := startLane(t, Config{}, lane)
	p.Switch(Target{Name: "blue", Addr: slow})
	c := dialRaw(t, p)
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-arrived
	p.Switch(Target{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if diff := cmp.Diff(DrainResult{Cut: 1}, p.Drain(ctx, "blue")); diff != "" {
		t.Errorf("Drain (-want +got):\n%s", diff)
	}
	if got := c.read(t, "GET"); got.Status != http.StatusBadGateway {
		t.Errorf("cut request answered %+v, want 502", got)
	}
	if n := p.Stats("blue").InFlight; n != 0 {
		t.Errorf("blue in flight after drain = %d", n)
	}
}

// Close must not wait for idle keep-alive clients of the lane.
func TestLaneCloseEndsIdleConnections(t *testing.T) {
	t.Parallel()
	for _, lane := range lanes {
		t.Run(lane, func(t *testing.T) {
			t.Parallel()
			testCloseEndsIdleConnections(t, lane)
		})
	}
}

func testCloseEndsIdleConnections(t *testing.T, lane string) {
	p := startLane(t, Config{}, lane)
	p.Switch(laneBackend(t))
	c := dialRaw(t, p)
	io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	c.read(t, "GET")
	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for an idle client")
	}
	if !c.closed() {
		t.Errorf("idle client connection still open after Close")
	}
}

func TestLaneParse(t *testing.T) {
	t.Parallel()
	type parsed struct {
		OK     bool
		Method string
		URI    string
		Host   string
		Close  bool
		Fields []headerField
		XFF    []string
	}
	tests := []struct {
		name string
		head string
		want parsed
	}{
		{
			name: "simple GET",
			head: "GET /a?b=c HTTP/1.1\r\nHost: app\r\nUser-Agent: t\r\n\r\n",
			want: parsed{OK: true, Method: "GET", URI: "/a?b=c", Host: "app", Fields: []headerField{{"User-Agent", "t"}}},
		},
		{
			name: "hop-by-hop and named fields dropped, Te trailers kept",
			head: "GET / HTTP/1.1\r\nhost: app\r\nConnection: X-A, close\r\nx-a: 1\r\nKeep-Alive: 5\r\nTE: trailers, gzip\r\nX-Forwarded-For: 1.2.3.4\r\nX-B: 2\r\n\r\n",
			want: parsed{OK: true, Method: "GET", URI: "/", Host: "app", Close: true,
				Fields: []headerField{{"X-B", "2"}, {"Te", "trailers"}}, XFF: []string{"1.2.3.4"}},
		},
		{name: "HTTP/1.0 without Host closes", head: "HEAD / HTTP/1.0\r\n\r\n", want: parsed{OK: true, Method: "HEAD", URI: "/", Close: true}},
		{name: "POST goes to net/http", head: "POST / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "h2c preface goes to net/http", head: "PRI * HTTP/2.0\r\n\r\n"},
		{name: "absolute URI goes to net/http", head: "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "bad escape goes to net/http", head: "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "missing Host goes to net/http", head: "GET / HTTP/1.1\r\n\r\n"},
		{name: "two Hosts go to net/http", head: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
		{name: "upgrade goes to net/http", head: "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"},
		{name: "expect goes to net/http", head: "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n"},
		{name: "chunked goes to net/http", head: "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{name: "a body goes to net/http", head: "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n"},
		{name: "folded line goes to net/http", head: "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n"},
		{name: "space before colon goes to net/http", head: "GET / HTTP/1.1\r\nHost : a\r\n\r\n"},
		{name: "control byte goes to net/http", head: "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n"},
		{name: "HTTP/1.2 goes to net/http", head: "GET / HTTP/1.2\r\nHost: a\r\n\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var q laneReq
			got := parsed{OK: q.parse([]byte(tc.head))}
			if got.OK {
				got.Method, got.URI, got.Host, got.Close = q.method, q.uri, q.host, q.close
				got.XFF = q.xff
				if q.nkv > 0 {
					got.Fields = q.kv[:q.nkv]
				}
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(headerField{})); diff != "" {
				t.Errorf("parse (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzLaneParse checks that parse never panics and accepts only what the
// lane may forward.
func FuzzLaneParse(f *testing.F) {
	f.Add("GET / HTTP/1.1\r\nHost: a\r\nConnection: x, close\r\nx: 1\r\nTe: trailers\r\n\r\n")
	f.Add("HEAD /%41 HTTP/1.0\r\n\r\n")
	f.Add("PRI * HTTP/2.0\r\n\r\n")
	f.Fuzz(func(t *testing.T, head string) {
		if !strings.HasSuffix(head, "\r\n\r\n") || strings.Index(head, "\r\n\r\n") != len(head)-4 {
			return // readHead only passes one whole header
		}
		var q laneReq
		if !q.parse([]byte(head)) {
			return
		}
		if q.method != "GET" && q.method != "HEAD" && q.method != "OPTIONS" || !strings.HasPrefix(q.uri, "/") {
			t.Errorf("accepted %q as method %q uri %q", head, q.method, q.uri)
		}
		for _, fl := range q.kv[:q.nkv] {
			if k := fieldKind(fl.k); k != fieldForward && k != fieldLength && k != fieldTE {
				t.Errorf("forwards field %q of %q", fl.k, head)
			}
		}
	})
}
