package front

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
)

// streamBackend serves SSE on /events (a line every 20ms until the client
// goes) and a raw upgrade on /ws that echoes lines.
func streamBackend(t *testing.T, name string) proxy.Target {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "data: %s %d\n\n", name, i); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString(name + " " + line)
			brw.Flush()
		}
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return proxy.Target{Name: name, Addr: s.Listener.Addr().String()}
}

// TestDoorStreamsDrainOverTLS opens an SSE stream over HTTP/2 and an
// upgraded connection over HTTP/1.1, both through TLS, switches the app
// to a new target and checks that the drain of the old one waits for
// them (they keep flowing from the old target) and cuts them at the end
// of its budget, while new requests go to the new target.
func TestDoorStreamsDrainOverTLS(t *testing.T) {
	dir, tlsDir := t.TempDir(), t.TempDir()
	cert, key, x := selfSigned(t, tlsDir, "s", "s.test")
	roots := x509.NewCertPool()
	roots.AddCert(x)
	plain, secure := freeAddr(t), freeAddr(t)
	f, c := startFront(t, dir, nil)
	defer f.stop(t)
	ctx := context.Background()
	if err := c.Door(ctx, DoorSpec{HTTP: plain, HTTPS: secure}); err != nil {
		t.Fatal(err)
	}
	rt, err := c.Route(ctx, "s", RouteSpec{Protocol: "http", Hosts: []string{"s.test"}, TLS: TLSSpec{Mode: tlsFile, Cert: cert, Key: key}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt.Switch(streamBackend(t, "blue"))

	hc := doorClient(plain, secure, roots)
	resp, err := hc.Get("https://s.test:" + port(secure) + "/events")
	if err != nil || resp.ProtoMajor != 2 {
		t.Fatalf("SSE over h2: %v %v", resp, err)
	}
	defer resp.Body.Close()
	sse := bufio.NewReader(resp.Body)

	ws, err := tls.Dial("tcp", secure, &tls.Config{ServerName: "s.test", RootCAs: roots, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	fmt.Fprintf(ws, "GET /ws HTTP/1.1\r\nHost: s.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	wsr := bufio.NewReader(ws)
	st, err := http.ReadResponse(wsr, nil)
	if err != nil || st.StatusCode != 101 {
		t.Fatalf("upgrade over TLS: %v %v", st, err)
	}

	rt.Switch(streamBackend(t, "green"))
	if g, err := fetch(t, hc, "https://s.test:"+port(secure)+"/nothing", ""); err != nil || g.status != 404 {
		t.Fatalf("a new request after the switch: %+v %v; want a 404 from the backend", g, err)
	}
	if n := rt.Stats("green").Requests; n != 1 {
		t.Errorf("green got %d requests after the switch, want 1", n)
	}
	drained := make(chan proxy.DrainResult, 1)
	go func() {
		dctx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
		defer cancel()
		drained <- rt.Drain(dctx, "blue")
	}()
	// While the drain waits, both streams still flow from blue.
	time.Sleep(200 * time.Millisecond)
	if line := readData(t, sse); !strings.HasPrefix(line, "data: blue") {
		t.Errorf("SSE during the drain: %q; want blue's", line)
	}
	fmt.Fprintf(ws, "ping\n")
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := wsr.ReadString('\n'); err != nil || line != "blue ping\n" {
		t.Errorf("upgraded stream during the drain: %q %v; want blue's echo", line, err)
	}
	select {
	case r := <-drained:
		t.Fatalf("drain ended with the streams open: %+v", r)
	default:
	}
	r := <-drained
	if r.Cut != 2 {
		t.Errorf("drain = %+v; want the two streams cut at the budget's end", r)
	}
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(wsr); err != nil && !isClosed(err) {
		t.Errorf("upgraded stream after the cut: %v", err)
	}
}

func readData(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading SSE: %v", err)
		}
		if strings.HasPrefix(line, "data:") {
			return strings.TrimSpace(line)
		}
	}
}

func isClosed(err error) bool {
	var ne net.Error
	return err == io.EOF || strings.Contains(err.Error(), "closed") || strings.Contains(err.Error(), "reset") || (errorsAs(err, &ne) && !ne.Timeout())
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
