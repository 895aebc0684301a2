package front

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
)

// running is one in-process front serving dir.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func startFront(t *testing.T, dir string, inherited map[string]*os.File) (*running, *Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- Serve(ctx, Config{RunDir: dir, Version: "test", Inherited: inherited}) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := Dial(dir, nil)
		if err == nil {
			return r, c
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("front does not answer: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatalf("front: %v", err)
	}
}

func backend(t *testing.T, body string) proxy.Target {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, body) }))
	t.Cleanup(s.Close)
	return proxy.Target{Name: body, Addr: s.Listener.Addr().String()}
}

func getBody(t *testing.T, addr string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("GET through the front: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestRoutesSurviveTheFront routes an app, switches it, and checks that a
// new front on the same directory serves the same live target at once,
// and that while no front runs the socket a peer holds queues connections.
func TestRoutesSurviveTheFront(t *testing.T) {
	dir := t.TempDir()
	blue, green := backend(t, "blue"), backend(t, "green")
	addr := freeAddr(t)
	f, c := startFront(t, dir, nil)
	spec := RouteSpec{Listen: addr, Protocol: "http"}
	r, err := c.Route(context.Background(), "web", spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Switch(blue)
	if got := getBody(t, addr); got != "blue" {
		t.Fatalf("GET = %q, want blue", got)
	}
	if prev := r.Switch(green); prev != blue {
		t.Errorf("Switch returned %+v, want %+v", prev, blue)
	}
	if got := getBody(t, addr); got != "green" {
		t.Fatalf("GET after switch = %q, want green", got)
	}
	if st := r.Stats("green"); st.Requests != 1 || st.Status2xx != 1 {
		t.Errorf("green stats %+v, want 1 request, 1 2xx", st)
	}
	// Adopting the same spec keeps the listener and the live target.
	if _, err := c.Route(context.Background(), "web", spec, nil); err != nil {
		t.Fatal(err)
	}
	if got := r.Live(); got != green {
		t.Errorf("live after adoption = %+v, want %+v", got, green)
	}
	socks, err := c.Listeners(context.Background())
	if err != nil || socks["web"] == nil {
		t.Fatalf("listeners: %v %v", socks, err)
	}
	f.stop(t)

	// No front: the held socket still listens, so a connection queues.
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("connection refused while no front ran: %v", err)
	}
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	f, c = startFront(t, dir, socks)
	defer f.stop(t)
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(conn)
	conn.Close()
	if !contains(string(b), "green") {
		t.Errorf("queued request answered %q, want green's answer", b)
	}
	if got := getBody(t, addr); got != "green" {
		t.Errorf("GET after the front's restart = %q, want green", got)
	}
	_, routes, err := c.Info(context.Background())
	if err != nil || len(routes) != 1 || routes[0].Live != green {
		t.Errorf("routes after restart %+v, %v", routes, err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestConflictNamesTheApp routes two apps on one address.
func TestConflictNamesTheApp(t *testing.T) {
	dir := t.TempDir()
	f, c := startFront(t, dir, nil)
	defer f.stop(t)
	addr := freeAddr(t)
	if _, err := c.Route(context.Background(), "one", RouteSpec{Listen: addr, Protocol: "http"}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := c.Route(context.Background(), "two", RouteSpec{Listen: addr, Protocol: "tcp"}, nil)
	if !errors.Is(err, ErrConflict) || !contains(err.Error(), "app one") {
		t.Fatalf("second route: %v, want ErrConflict naming app one", err)
	}
	if err := c.Remove(context.Background(), "one"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Route(context.Background(), "two", RouteSpec{Listen: addr, Protocol: "tcp"}, nil); err != nil {
		t.Fatalf("route after the holder was removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, tableName)); err != nil {
		t.Errorf("routing table not written: %v", err)
	}
}

// TestStatsNeverGoBackwards reads a target's numbers through one Route
// across a restart of the front: the new front counts from 0, the Route
// adds what the old one counted.
func TestStatsNeverGoBackwards(t *testing.T) {
	dir := t.TempDir()
	blue := backend(t, "blue")
	addr := freeAddr(t)
	f, c := startFront(t, dir, nil)
	r, err := c.Route(context.Background(), "web", RouteSpec{Listen: addr, Protocol: "http"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Switch(blue)
	getBody(t, addr)
	getBody(t, addr)
	if st := r.Stats("blue"); st.Requests != 2 {
		t.Fatalf("before the restart: %d requests, want 2", st.Requests)
	}
	socks, err := c.Listeners(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.stop(t)
	time.Sleep(10 * time.Millisecond) // two fronts' start times must differ
	f, _ = startFront(t, dir, socks)
	defer f.stop(t)
	getBody(t, addr)
	if st := r.Stats("blue"); st.Requests != 3 || st.Status2xx != 3 {
		t.Errorf("after the restart: %d requests, %d 2xx, want 3 and 3 (2 before, 1 after)", st.Requests, st.Status2xx)
	}
}
