package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A connection the retiring proxy accepted before its client sent the
// first request is answered, not closed as idle: its client opened it for
// that request and would not retry it on another connection (in the nspawn
// box such a close reset one request in two runs of three). Only the
// event-loop lane: the goroutine lane is net/http's, which leaves a new
// connection alone for 5 s on its own.
func TestRetireAnswersAConnectionsFirstRequest(t *testing.T) {
	back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer back.Close()
	old := startLane(t, Config{}, "loop")
	old.Switch(Target{Name: "b", Addr: back.Listener.Addr().String()})
	conn, err := net.DialTimeout("tcp", old.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	eventually(t, "the proxy's loop holds the new connection", func() bool { return old.inFlight() >= 1 })

	retired := make(chan DrainResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		retired <- old.Retire(ctx)
	}()
	eventually(t, "the proxy retires", func() bool { return old.retiring.Load() })
	time.Sleep(10 * retirePoll) // several passes of closing idle clients

	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatalf("writing the first request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the first request on a connection accepted before Retire: %v; want an answer", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Errorf("answer %d %q; want 200 ok", resp.StatusCode, body)
	}
	if res := <-retired; res.Cut != 0 {
		t.Errorf("Retire = %+v; want nothing cut", res)
	}
}
