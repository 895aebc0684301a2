package front

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
)

// echoBackend answers "app method proto host bodylen" with what reached
// it; /slow waits 300ms first.
func echoBackend(t *testing.T, app string) proxy.Target {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(300 * time.Millisecond)
		}
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s %s %d", app, r.Method, r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-Host"), len(b))
	}))
	t.Cleanup(s.Close)
	return proxy.Target{Name: app, Addr: s.Listener.Addr().String()}
}

// TestDoorTLSHTTP1 sends HTTP/1.1 over TLS, the door's lane, and requests
// the lane hands to net/http (with a body), and checks that both route
// by host and path alike, tell the app the client came over https, and
// answer 421 to a Host other than the connection's server name.
func TestDoorTLSHTTP1(t *testing.T) {
	dir, tlsDir := t.TempDir(), t.TempDir()
	aCert, aKey, aX := selfSigned(t, tlsDir, "a", "a.test", "b.test")
	roots := x509.NewCertPool()
	roots.AddCert(aX)
	secure := freeAddr(t)
	f, c := startFront(t, dir, nil)
	defer f.stop(t)
	ctx := context.Background()
	if err := c.Door(ctx, DoorSpec{HTTPS: secure}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ app, host, prefix string }{{"a", "a.test", ""}, {"api", "a.test", "/api"}, {"b", "b.test", ""}} {
		rt, err := c.Route(ctx, r.app, RouteSpec{Protocol: "http", Hosts: []string{r.host}, PathPrefix: r.prefix,
			TLS: TLSSpec{Mode: tlsFile, Cert: aCert, Key: aKey}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rt.Switch(echoBackend(t, r.app))
	}
	var d net.Dialer
	tr := &http.Transport{
		DialContext:     func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "tcp", secure) },
		TLSClientConfig: &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}},
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	base := "https://a.test:" + port(secure)
	for _, tt := range []struct {
		name, method, path, host, body string
		status                         int
		want                           string
	}{
		{"lane", "GET", "/", "", "", 200, "a GET https a.test:" + port(secure) + " 0"},
		{"lane, prefix", "GET", "/api/x?y=1", "", "", 200, "api GET https a.test:" + port(secure) + " 0"},
		{"lane, escaped path", "GET", "/api%2Fx", "", "", 200, "api GET https a.test:" + port(secure) + " 0"},
		{"lane, HEAD", "HEAD", "/", "", "", 200, ""},
		{"net/http, body", "POST", "/", "", "hello", 200, "a POST https a.test:" + port(secure) + " 5"},
		{"net/http, prefix", "PUT", "/api", "", "hello", 200, "api PUT https a.test:" + port(secure) + " 5"},
		{"lane, other host", "GET", "/", "b.test", "", 421, bodyMisdirected},
		{"net/http, other host", "POST", "/", "b.test", "x", 421, bodyMisdirected},
		{"lane after net/http", "GET", "/", "", "", 200, "a GET https a.test:" + port(secure) + " 0"},
	} {
		var body io.Reader
		if tt.body != "" {
			body = strings.NewReader(tt.body)
		}
		req, err := http.NewRequest(tt.method, base+tt.path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tt.host
		resp, err := hc.Do(req)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || string(b) != tt.want || resp.Proto != "HTTP/1.1" {
			t.Errorf("%s: %s %d %q; want HTTP/1.1 %d %q", tt.name, resp.Proto, resp.StatusCode, b, tt.status, tt.want)
		}
	}
	st, err := c.DoorStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range st {
		if h.Host == "a.test" && h.Requests != 7 {
			t.Errorf("a.test counted %d requests; want 7", h.Requests)
		}
	}
}

// laneDoor is a door with an https listener serving host a.test with
// the certificate in dir through p.
func laneDoor(t *testing.T, p *proxy.Proxy) (*door, string, *x509.CertPool) {
	t.Helper()
	certFile, keyFile, x := selfSigned(t, t.TempDir(), "a", "a.test")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	d := newDoor(slog.New(slog.DiscardHandler), DoorTuning{})
	addr := freeAddr(t)
	if err := d.configure(DoorSpec{HTTPS: addr}, nil); err != nil {
		t.Fatal(err)
	}
	d.setTable(&hostTable{hosts: map[string][]hostRoute{"a.test": {{app: "a", prefix: "/", p: p, mode: tlsFile, cert: &cert}}}})
	roots := x509.NewCertPool()
	roots.AddCert(x)
	return d, addr, roots
}

// echoLaneDoor is laneDoor in front of an echo backend, with a dial of
// an HTTP/1.1 TLS connection to it that ends with the test.
func echoLaneDoor(t *testing.T) (*door, func() (*tls.Conn, *bufio.Reader)) {
	t.Helper()
	p, err := proxy.New(proxy.Config{Listen: "127.0.0.1:0", Protocol: "http"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	p.Switch(echoBackend(t, "a"))
	d, addr, roots := laneDoor(t, p)
	t.Cleanup(d.close)
	return d, func() (*tls.Conn, *bufio.Reader) {
		c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "a.test", RootCAs: roots, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c, bufio.NewReader(c)
	}
}

// TestDoorRetireOverTLSLane retires a door with one idle HTTP/1.1 TLS
// connection and one with a request under way: the idle one is closed
// once quiet for proxy.RetireQuiet, the other gets its answer, marked
// Connection: close, then is closed, and the retire ends without waiting
// for its budget.
func TestDoorRetireOverTLSLane(t *testing.T) {
	d, dial := echoLaneDoor(t)
	get := func(c *tls.Conn, br *bufio.Reader, path string) *http.Response {
		t.Helper()
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: a.test\r\n\r\n", path)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp
	}
	idle, idleR := dial()
	if resp := get(idle, idleR, "/"); resp.StatusCode != 200 || resp.Close {
		t.Fatalf("first answer: %d, close %v", resp.StatusCode, resp.Close)
	}
	busy, busyR := dial()
	answered := make(chan *http.Response, 1)
	go func() {
		fmt.Fprintf(busy, "GET /slow HTTP/1.1\r\nHost: a.test\r\n\r\n")
		resp, err := http.ReadResponse(busyR, nil)
		if err != nil {
			answered <- nil
			return
		}
		io.ReadAll(resp.Body)
		answered <- resp
	}()
	time.Sleep(100 * time.Millisecond) // the slow request reaches the backend
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	done := d.retire(ctx)
	if _, err := idleR.ReadByte(); err == nil {
		t.Error("the idle connection got bytes after the retire; want it closed")
	}
	resp := <-answered
	if resp == nil || resp.StatusCode != 200 || !resp.Close {
		t.Fatalf("answer under way: %+v; want 200 with Connection: close", resp)
	}
	if _, err := busyR.ReadByte(); err == nil {
		t.Error("the busy connection stayed open after its answer")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("retire did not end after its connections did")
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("retire took %v", time.Since(start))
	}
}

// TestDoorRetireAnswersAJustIdleConnection retires a door right after a
// keep-alive connection's answer, and the client sends its next request
// on it at once, as a client that does not retry does: it gets its answer,
// saying Connection: close, rather than a closed connection (closing an
// idle connection that has just answered races with such a request).
func TestDoorRetireAnswersAJustIdleConnection(t *testing.T) {
	d, dial := echoLaneDoor(t)
	c, br := dial()
	get := func() (*http.Response, error) {
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return nil, err
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, nil
	}
	if resp, err := get(); err != nil || resp.StatusCode != 200 || resp.Close {
		t.Fatalf("first answer: %+v %v", resp, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := d.retire(ctx)
	time.Sleep(50 * time.Millisecond) // the retire has looked at the connection
	resp, err := get()
	if err != nil || resp.StatusCode != 200 || !resp.Close {
		t.Fatalf("request sent just after the retire: %+v %v; want 200 with Connection: close", resp, err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("retire did not end after the connection closed")
	}
}
