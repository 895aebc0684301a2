package proxy

import (
	"bufio"
	"encoding/base64"
	"net"
	"net/http"

	"golang.org/x/net/http2"
)

// HTTP/2 cleartext by Upgrade (RFC 7540 section 3.2), which curl --http2
// uses for http:// URLs. net/http's server speaks h2c only with prior
// knowledge and its HTTP/2 server cannot take over an upgraded request,
// so the upgraded connection is served by x/net's http2.Server, which
// can: the request that asked is answered on stream 1, and every stream
// comes back to ServeHTTP like any other request. RFC 9113 deprecates
// the upgrade, but clients still send it.

// h2cSettings returns the decoded HTTP2-Settings of an HTTP/1.1 request
// the proxy upgrades to h2c. A request with a body is not upgraded (the
// Upgrade is ignored, as RFC 9110 allows): serving it on stream 1 would
// mean holding the whole body in memory first.
func h2cSettings(r *http.Request) ([]byte, bool) {
	vv := r.Header["Http2-Settings"]
	if len(vv) != 1 || !r.ProtoAtLeast(1, 1) || r.ContentLength != 0 {
		return nil, false
	}
	if !headerHasToken(r.Header, "Upgrade", "h2c") ||
		!headerHasToken(r.Header, "Connection", "upgrade") ||
		!headerHasToken(r.Header, "Connection", "http2-settings") {
		return nil, false
	}
	settings, err := base64.RawURLEncoding.DecodeString(vv[0])
	if err != nil {
		return nil, false
	}
	return settings, true
}

// serveH2C switches the connection of r to HTTP/2 and serves it until it
// ends. It reports false, having written nothing, if the connection
// cannot be taken over.
func (p *Proxy) serveH2C(w http.ResponseWriter, r *http.Request, settings []byte) bool {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	defer conn.Close()
	uncheck(conn)
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
	if brw.Flush() != nil {
		return true
	}
	// Stream 1 carries r as an HTTP/2 request, without the upgrade.
	for _, k := range [...]string{"Connection", "Upgrade", "Http2-Settings"} {
		delete(r.Header, k)
	}
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
	r.Body = http.NoBody
	var c net.Conn = conn
	if brw.Reader.Buffered() > 0 {
		c = &bufferedConn{Conn: conn, br: brw.Reader}
	}
	// One http2.Server per connection: it holds no state of its own
	// unless configured into an http.Server, and upgrades are rare.
	var h2 http2.Server
	h2.ServeConn(c, &http2.ServeConnOpts{
		Context:        r.Context(),
		BaseConfig:     p.srv,
		Handler:        p,
		UpgradeRequest: r,
		Settings:       settings,
	})
	return true
}

// bufferedConn reads what net/http's server had buffered before the
// socket.
type bufferedConn struct {
	net.Conn
	br *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.br.Read(b) }
