package proxy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// ClientConn is the lane (lane.go) for a client connection another server
// accepted and routes: the front door's TLS connections, whose requests
// go to the proxy of their host. The caller reads each request head with
// Next, picks the proxy it belongs to and has it answered with Forward,
// so those requests get the lane's parser, header policy, timeouts and
// backend pool, and no second set of rules. The first request the lane
// does not serve (a body, an upgrade, a malformed or oversized head)
// ends Next with NextHandOff, and HandOff gives the connection, from that
// request on, to net/http, guarded as the lane's own hand-offs are.
//
// Over TLS it saves net/http's per-request server work, which profiles
// of the door put at half of its CPU. Only one goroutine may use a
// ClientConn.
type ClientConn struct {
	lc laneConn
}

// NewClientConn serves c; https says c is a TLS connection (its requests
// reach the backends with X-Forwarded-Proto: https).
func NewClientConn(c net.Conn, https bool) *ClientConn {
	return &ClientConn{lc: laneConn{
		c: c, br: bufio.NewReaderSize(c, laneReadBuffer),
		ip: clientIP(c.RemoteAddr().String()), https: https,
	}}
}

// NextResult is what Next found.
type NextResult int

// Results of Next.
const (
	NextRequest NextResult = iota // a simple request: Host, Path, then Forward or Answer
	NextEnded                     // the connection ended, timed out or failed
	NextHandOff                   // a request for net/http: call HandOff
)

// Next waits for the next request head, with the lane's idle and header
// timeouts, and parses it.
func (cc *ClientConn) Next() NextResult {
	cc.lc.trim()
	ok, handOff := cc.lc.next()
	switch {
	case ok:
		return NextRequest
	case handOff:
		return NextHandOff
	}
	return NextEnded
}

// Idle reports whether no byte of a next request has been read yet.
func (cc *ClientConn) Idle() bool { return cc.lc.br.Buffered() == 0 }

// Host returns the Host header of the request Next read, as sent.
func (cc *ClientConn) Host() string { return cc.lc.req.host }

// Path returns the decoded path of the request Next read, as net/http's
// URL.Path would have it; ok is false for an escape net/http refuses.
func (cc *ClientConn) Path() (path string, ok bool) {
	p, _, _ := strings.Cut(cc.lc.req.uri, "?")
	if strings.IndexByte(p, '%') < 0 {
		return p, true
	}
	u, err := url.ParseRequestURI(p)
	if err != nil {
		return "", false
	}
	return u.Path, true
}

// DrainOn makes every answer the connection's last once drain is true:
// the caller's server is retiring.
func (cc *ClientConn) DrainOn(drain *atomic.Bool) { cc.lc.drain = drain }

// Forward answers the request Next read through p as p's own lane would,
// and reports the answer's status and whether the connection stays open.
// p's Close and Retire wait for it as for any request under way.
func (cc *ClientConn) Forward(p *Proxy) (status int, keep bool) {
	p.active.Add(1)
	defer p.active.Add(-1)
	lc := &cc.lc
	// The request context ends when p closes, as on p's own lane.
	lc.p, lc.ctx = p, p.base
	keep = lc.handle(&lc.req)
	lc.p, lc.ctx = nil, nil
	return lc.status, keep
}

// Answer sends the caller's own plain-text answer to the request Next
// read and reports whether the connection stays open.
func (cc *ClientConn) Answer(status int, body string) bool {
	return cc.lc.answer(&cc.lc.req.answerTo, status, body, false)
}

// HandOff returns the connection for net/http after Next reported
// NextHandOff: it replays the bytes read so far, passes the lane's request
// checks (guard.go), and reports a TLS connection's state, so that
// net/http's Request.TLS is set. The caller gives it to its server.
func (cc *ClientConn) HandOff() net.Conn {
	lc := &cc.lc
	pre, _ := lc.br.Peek(lc.br.Buffered())
	pre = bytes.Clone(pre)
	lc.c.SetReadDeadline(time.Time{}) // net/http sets its own
	g := newGuardedConn(lc.c, pre)
	if tc, ok := lc.c.(*tls.Conn); ok {
		return &tlsGuardedConn{guardedConn: g, state: tc.ConnectionState()}
	}
	return g
}

// tlsGuardedConn is a guarded TLS connection: net/http takes the state of
// a connection that is not a *tls.Conn from its ConnectionState method.
type tlsGuardedConn struct {
	*guardedConn
	state tls.ConnectionState
}

// ConnectionState returns the TLS state of the connection.
func (c *tlsGuardedConn) ConnectionState() tls.ConnectionState { return c.state }
