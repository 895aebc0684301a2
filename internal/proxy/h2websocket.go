package proxy

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// WebSocket over HTTP/2 (RFC 8441): an extended CONNECT with :protocol
// websocket becomes an HTTP/1.1 WebSocket upgrade towards the backend,
// whose 101 becomes a 200 on the stream; the stream's DATA then carry
// the WebSocket bytes both ways.
//
// Go's HTTP/2 servers (net/http's, and x/net's for upgraded h2c) accept
// extended CONNECT only in a process started with GODEBUG=http2xconnect=1,
// read once at init (net/http/h2_bundle.go); only then do they announce
// SETTINGS_ENABLE_CONNECT_PROTOCOL. Without it clients use WebSocket over
// HTTP/1.1, which upgrade.go tunnels.

const bodyNoProtocol = "berth: extended CONNECT is proxied only for :protocol websocket\n"

// wsGUID completes Sec-WebSocket-Accept (RFC 6455 section 1.3).
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// errBadAccept is a backend that switched protocols without proving it
// read our Sec-WebSocket-Key: not a WebSocket server.
var errBadAccept = errors.New("backend answered the WebSocket upgrade with a wrong Sec-WebSocket-Accept")

// isExtendedConnect reports an RFC 8441 request; only HTTP/2 can carry
// the :protocol pseudo-header.
func isExtendedConnect(r *http.Request) bool {
	return r.Method == http.MethodConnect && len(r.Header[":protocol"]) > 0
}

// connectWebSocket serves an extended CONNECT. Like tunnel, it counts as
// in flight on its target until either side ends the stream; a Drain
// cut closes the backend connection, which resets the stream.
func (p *Proxy) connectWebSocket(w http.ResponseWriter, r *http.Request, rt *route, start time.Time) {
	if !strings.EqualFold(r.Header.Get(":protocol"), "websocket") {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotImplemented)
		io.WriteString(w, bodyNoProtocol)
		return
	}
	delete(r.Header, ":protocol")
	stream := r.Body
	key := wsKey()
	out := outRequest(r.Context(), r, rt.target.Addr, "websocket")
	out.Method = http.MethodGet
	out.Body, out.ContentLength = nil, 0
	out.Header["Sec-Websocket-Key"] = []string{key}
	resp, back := p.sendUpgrade(w, r, rt, out, start)
	if back == nil {
		return
	}
	defer resp.Body.Close()
	if resp.Header.Get("Sec-Websocket-Accept") != wsAccept(key) {
		p.failed(w, r, rt, errBadAccept, start)
		return
	}
	rt.b.stats.observe(resp.StatusCode, time.Since(start))
	copyResponseHeader(w.Header(), resp) // without Connection and Upgrade
	delete(w.Header(), "Sec-Websocket-Accept")
	w.WriteHeader(http.StatusOK)
	if err := p.relayStream(w, stream, back); err != nil {
		panic(http.ErrAbortHandler) // resets the stream
	}
}

// relayStream copies the client's stream to back and back to the
// client's stream, flushing every read, until back ends. It reports an
// error only if the exchange broke. A client that ends its stream closes
// back: a Transport's upgraded connection cannot be half-closed.
func (p *Proxy) relayStream(w http.ResponseWriter, stream io.ReadCloser, back io.ReadWriteCloser) error {
	var clientEnded atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := io.Copy(back, stream)
		clientEnded.Store(err == nil)
		back.Close()
	}()
	err := p.copyBody(w, back, true)
	stream.Close() // ends the copy above if the client is still sending
	back.Close()
	<-done
	if clientEnded.Load() {
		return nil // back's read error came from closing it
	}
	return err
}

func wsKey() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

func wsAccept(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}
