package proxy

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
)

// runWithGODEBUG runs the calling test again in a child process whose
// GODEBUG has setting, for settings Go reads only at start-up.
func runWithGODEBUG(t *testing.T, setting string) {
	t.Helper()
	gd := setting
	if old := os.Getenv("GODEBUG"); old != "" {
		gd = old + "," + setting
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v", "-test.timeout=60s")
	gr := "atexit_sleep_ms=0" // a -race child would linger a second
	if old := os.Getenv("GORACE"); old != "" {
		gr = old + " " + gr
	}
	cmd.Env = append(os.Environ(), "GODEBUG="+gd, "GORACE="+gr)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("%s with GODEBUG=%s: %v\n%s", t.Name(), gd, err, out)
	}
}

// wsHandshake is what the backend saw of a WebSocket upgrade.
type wsHandshake struct {
	Method, Path, Upgrade, Version, Protocol string
	Connection                               bool // Connection: Upgrade
	KeyBytes                                 int
	Pseudo                                   bool // a :protocol header leaked
}

// wsEchoBackend completes real WebSocket handshakes (403 on /forbidden,
// a wrong accept on /not-websocket) and answers each masked frame with its payload upper-cased, unmasked,
// until a close frame, which it answers before closing the connection.
func wsEchoBackend(t *testing.T) (string, <-chan wsHandshake) {
	t.Helper()
	seen := make(chan wsHandshake, 4)
	addr := newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Sec-WebSocket-Key")
		raw, _ := base64.StdEncoding.DecodeString(key)
		seen <- wsHandshake{
			Method: r.Method, Path: r.URL.Path, Upgrade: r.Header.Get("Upgrade"),
			Version: r.Header.Get("Sec-WebSocket-Version"), Protocol: r.Header.Get("Sec-WebSocket-Protocol"),
			Connection: headerHasToken(r.Header, "Connection", "upgrade"), KeyBytes: len(raw),
			Pseudo: len(r.Header[":protocol"]) > 0,
		}
		if r.URL.Path == "/forbidden" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		if r.URL.Path == "/not-websocket" {
			key = "" // a server that ignores the key
		}
		sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
		brw.Flush()
		for {
			var head [6]byte // short frames only: opcode, length, mask
			if _, err := io.ReadFull(brw, head[:]); err != nil {
				return
			}
			payload := make([]byte, head[1]&0x7f)
			if _, err := io.ReadFull(brw, payload); err != nil {
				return
			}
			for i := range payload {
				payload[i] ^= head[2+i%4]
			}
			reply := append([]byte{head[0], byte(len(payload))}, bytes.ToUpper(payload)...)
			if _, err := conn.Write(reply); err != nil || head[0]&0x0f == 0x8 {
				return
			}
		}
	}))
	return addr, seen
}

// clientFrame is a masked WebSocket frame with a short payload.
func clientFrame(opcode byte, payload string) []byte {
	mask := []byte{1, 2, 3, 4}
	f := append([]byte{0x80 | opcode, 0x80 | byte(len(payload))}, mask...)
	for i := range len(payload) {
		f = append(f, payload[i]^mask[i%4])
	}
	return f
}

// An RFC 8441 client opens a WebSocket on an HTTP/2 stream; the backend
// gets an HTTP/1.1 upgrade. Go's HTTP/2 server allows extended CONNECT
// only with GODEBUG=http2xconnect=1, read at start-up, hence the child.
func TestWebSocketOverH2(t *testing.T) {
	if !strings.Contains(os.Getenv("GODEBUG"), "http2xconnect=1") {
		t.Parallel()
		runWithGODEBUG(t, "http2xconnect=1")
		return
	}
	addr, seen := wsEchoBackend(t)
	p := startProxy(t, Config{})
	p.Switch(Target{Name: "blue", Addr: addr})
	// net/http's client refuses a :protocol header; x/net's sends it.
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}

	// open sends an extended CONNECT; the request body is the stream up.
	open := func(t *testing.T, protocol, path string) (*http.Response, *io.PipeWriter) {
		t.Helper()
		pr, pw := io.Pipe()
		t.Cleanup(func() { pw.Close() })
		req, _ := http.NewRequest("CONNECT", "http://"+p.Addr().String()+path, pr)
		req.Header[":protocol"] = []string{protocol}
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Protocol", "chat")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("extended CONNECT: %v", err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp, pw
	}
	// exchange sends frame and reads the backend's reply of want's size.
	exchange := func(t *testing.T, resp *http.Response, pw *io.PipeWriter, frame []byte, want string) {
		t.Helper()
		if _, err := pw.Write(frame); err != nil {
			t.Fatalf("sending a frame: %v", err)
		}
		got := make([]byte, len(want))
		if _, err := io.ReadFull(resp.Body, got); err != nil {
			t.Fatalf("reading the reply: %v", err)
		}
		if string(got) != want {
			t.Errorf("reply = %q, want %q", got, want)
		}
	}
	handshake := func(t *testing.T) wsHandshake {
		t.Helper()
		select {
		case h := <-seen:
			return h
		case <-time.After(5 * time.Second):
			t.Fatal("the backend saw no handshake")
			return wsHandshake{}
		}
	}
	wantHandshake := wsHandshake{Method: "GET", Path: "/chat", Upgrade: "websocket", Version: "13", Protocol: "chat", Connection: true, KeyBytes: 16}

	t.Run("backend closes after the close handshake", func(t *testing.T) {
		resp, pw := open(t, "websocket", "/chat")
		got := []string{resp.Status, resp.Header.Get("Sec-WebSocket-Protocol"), resp.Header.Get("Sec-WebSocket-Accept")}
		if diff := cmp.Diff([]string{"200 OK", "chat", ""}, got); diff != "" {
			t.Fatalf("answer [status protocol accept] (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantHandshake, handshake(t)); diff != "" {
			t.Errorf("handshake at the backend (-want +got):\n%s", diff)
		}
		exchange(t, resp, pw, clientFrame(0x1, "hello"), "\x81\x05HELLO")
		if n := p.Stats("blue").InFlight; n != 1 {
			t.Errorf("InFlight during the WebSocket = %d, want 1 (for Drain)", n)
		}
		exchange(t, resp, pw, clientFrame(0x8, ""), "\x88\x00")
		if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) > 0 {
			t.Errorf("after the close frame: %q, %v; want a clean end of stream", rest, err)
		}
	})
	t.Run("client ends its stream", func(t *testing.T) {
		resp, pw := open(t, "websocket", "/chat")
		handshake(t)
		exchange(t, resp, pw, clientFrame(0x1, "bye"), "\x81\x03BYE")
		pw.Close()
		if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) > 0 {
			t.Errorf("after the client's END_STREAM: %q, %v; want a clean end of stream", rest, err)
		}
	})
	t.Run("backend refuses", func(t *testing.T) {
		resp, _ := open(t, "websocket", "/forbidden")
		body, _ := io.ReadAll(resp.Body)
		if diff := cmp.Diff([]any{403, "no\n"}, []any{resp.StatusCode, string(body)}); diff != "" {
			t.Errorf("answer [status body] (-want +got):\n%s", diff)
		}
		handshake(t)
	})
	t.Run("backend answers a wrong Sec-WebSocket-Accept", func(t *testing.T) {
		resp, _ := open(t, "websocket", "/not-websocket")
		body, _ := io.ReadAll(resp.Body)
		if diff := cmp.Diff([]any{502, bodyBadGw}, []any{resp.StatusCode, string(body)}); diff != "" {
			t.Errorf("answer [status body] (-want +got):\n%s", diff)
		}
		handshake(t)
	})
	t.Run("other protocol", func(t *testing.T) {
		resp, _ := open(t, "connect-udp", "/chat")
		body, _ := io.ReadAll(resp.Body)
		if diff := cmp.Diff([]any{501, bodyNoProtocol}, []any{resp.StatusCode, string(body)}); diff != "" {
			t.Errorf("answer [status body] (-want +got):\n%s", diff)
		}
	})
	eventually(t, "no stream in flight", func() bool { return p.Stats("blue").InFlight == 0 })
}
