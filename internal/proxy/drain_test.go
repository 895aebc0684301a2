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

// sseServer streams one event every 10ms until stop is closed.
func sseServer(t *testing.T, stop <-chan struct{}) string {
	return newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := 0; ; i++ {
			fmt.Fprintf(w, "data: %d\n\n", i)
			rc.Flush()
			select {
			case <-stop:
				return
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}))
}

func TestSSESurvivesSwitchThenDrains(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// end finishes the drain: it either lets the stream end or
		// returns a context that is already done.
		end  func(stop chan struct{}) context.Context
		want DrainResult
	}{
		{
			name: "stream ends by itself",
			end:  func(stop chan struct{}) context.Context { close(stop); return context.Background() },
			want: DrainResult{Drained: 1},
		},
		{
			name: "drain budget runs out",
			end: func(chan struct{}) context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			want: DrainResult{Cut: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stop := make(chan struct{})
			blue := Target{Name: "blue", Addr: sseServer(t, stop)}
			_, green := nameServer(t, "green")
			p := startProxy(t, Config{RequestTimeout: time.Minute})
			p.Switch(blue)
			c := newClient(t)

			resp, err := c.Get("http://" + p.Addr().String() + "/events")
			if err != nil {
				t.Fatalf("GET events: %v", err)
			}
			defer resp.Body.Close()
			events := bufio.NewReader(resp.Body)
			// The backend never ends the response on its own, so reading
			// an event at all proves the proxy flushes each one.
			readEvent(t, events)
			p.Switch(green)
			if _, body, _ := get(t, c, p, "/"); body != "green" {
				t.Fatalf("new request went to %q, want green", body)
			}
			readEvent(t, events) // the stream lives on, on blue

			drained := make(chan DrainResult, 1)
			go func() { drained <- p.Drain(tc.end(stop), "blue") }()
			var got DrainResult
			select {
			case got = <-drained:
			case <-time.After(10 * time.Second):
				t.Fatal("Drain did not return")
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Drain (-want +got):\n%s", diff)
			}
			if _, err := io.Copy(io.Discard, events); tc.want.Cut == 1 && err == nil {
				t.Errorf("cut stream ended cleanly; want the client to see it broken")
			}
			if n := p.Stats("blue").InFlight; n != 0 {
				t.Errorf("blue in flight after drain = %d", n)
			}
		})
	}
}

// While the stream is open, Drain must keep waiting.
func TestDrainWaitsForOpenStream(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	blue := Target{Name: "blue", Addr: sseServer(t, stop)}
	p := startProxy(t, Config{})
	p.Switch(blue)
	resp, err := newClient(t).Get("http://" + p.Addr().String() + "/events")
	if err != nil {
		t.Fatalf("GET events: %v", err)
	}
	defer resp.Body.Close()
	events := bufio.NewReader(resp.Body)
	readEvent(t, events)
	p.Switch(Target{})

	drained := make(chan DrainResult, 1)
	go func() { drained <- p.Drain(context.Background(), "blue") }()
	for range 5 { // several events later the drain is still waiting
		readEvent(t, events)
	}
	select {
	case r := <-drained:
		t.Fatalf("Drain returned %+v while a stream was open", r)
	default:
	}
	close(stop)
	if diff := cmp.Diff(DrainResult{Drained: 1}, <-drained); diff != "" {
		t.Errorf("Drain (-want +got):\n%s", diff)
	}
}

func readEvent(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("reading event: %q, %v", line, err)
	}
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatalf("reading event end: %v", err)
	}
	return line
}

// echoUpgradeServer accepts "Upgrade: echo" and then echoes bytes.
func echoUpgradeServer(t *testing.T) string {
	return newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "want upgrade", http.StatusUpgradeRequired)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		io.Copy(conn, brw)
	}))
}

func TestUpgradeIsTunnelledAndDrained(t *testing.T) {
	t.Parallel()
	blue := Target{Name: "blue", Addr: echoUpgradeServer(t)}
	_, green := nameServer(t, "green")
	p := startProxy(t, Config{RequestTimeout: 50 * time.Millisecond})
	p.Switch(blue)

	conn, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: app\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading upgrade answer: %v", err)
	}
	if diff := cmp.Diff([]string{"101", "echo"}, []string{fmt.Sprint(resp.StatusCode), resp.Header.Get("Upgrade")}); diff != "" {
		t.Fatalf("upgrade answer (-want +got):\n%s", diff)
	}
	echo := func(msg string) {
		t.Helper()
		io.WriteString(conn, msg+"\n")
		got, err := br.ReadString('\n')
		if err != nil || got != msg+"\n" {
			t.Fatalf("echo %q: got %q, %v", msg, got, err)
		}
	}
	echo("hello")
	time.Sleep(100 * time.Millisecond) // longer than RequestTimeout: tunnels are exempt
	p.Switch(green)
	echo("still blue")
	if n := p.Stats("blue").InFlight; n != 1 {
		t.Errorf("blue in flight = %d, want the tunnel", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if diff := cmp.Diff(DrainResult{Cut: 1}, p.Drain(ctx, "blue")); diff != "" {
		t.Errorf("Drain (-want +got):\n%s", diff)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := br.ReadByte(); err == nil {
		t.Errorf("tunnel still open after cut")
	}
}

func TestPause(t *testing.T) {
	t.Parallel()
	_, blue := nameServer(t, "blue")
	tests := []struct {
		name       string
		mode       PauseMode
		hold       time.Duration
		resume     bool
		wantStatus int
		wantBody   string
		wantRetry  string
	}{
		{name: "hold until resume", mode: PauseHold, resume: true, wantStatus: 200, wantBody: "blue"},
		{name: "hold times out", mode: PauseHold, hold: 50 * time.Millisecond, wantStatus: 503, wantBody: bodyHeld, wantRetry: "2"},
		{name: "refuse", mode: PauseRefuse, wantStatus: 503, wantBody: bodyPaused, wantRetry: "2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startProxy(t, Config{HoldTimeout: tc.hold})
			p.Switch(blue)
			p.Pause(tc.mode)
			type answer struct {
				Status     int
				Body       string
				RetryAfter string
			}
			got := make(chan answer, 1)
			go func() {
				resp, err := newClient(t).Get("http://" + p.Addr().String() + "/")
				if err != nil {
					t.Errorf("GET: %v", err)
					got <- answer{}
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				got <- answer{resp.StatusCode, string(b), resp.Header.Get("Retry-After")}
			}()
			if tc.resume {
				select {
				case a := <-got:
					t.Fatalf("held request answered before Resume: %+v", a)
				case <-time.After(100 * time.Millisecond):
				}
				p.Resume()
			}
			if diff := cmp.Diff(answer{tc.wantStatus, tc.wantBody, tc.wantRetry}, <-got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}
