package proxy

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"time"
)

// The lane serves HTTP/1 clients without net/http's server, whose
// per-request work (an http.Request, a header map, a context, a
// background read goroutine, a buffered response writer) was most of
// the proxy's remaining cost. Each client connection gets one goroutine
// that parses requests in place and forwards the simple ones, bodyless
// GET/HEAD/OPTIONS, over the fast backend path. The first request that
// is anything else (a body, Upgrade, Expect, h2c, a malformed or
// oversized header) hands the whole connection to net/http for good,
// with the bytes read so far, so every other case behaves as before and
// net/http stays the one that answers malformed requests.

const (
	laneIdleTimeout   = 2 * time.Minute  // between requests, as net/http's IdleTimeout
	laneHeaderTimeout = 30 * time.Second // for the rest of a header, as ReadHeaderTimeout
	// laneReadBuffer bounds the header the lane parses; longer ones go
	// to net/http, which answers 431 past maxHeaderBytes.
	laneReadBuffer = 8 << 10
	maxHeaderBytes = 64 << 10
	maxLaneFields  = 64
	// laneOutMax is the largest answer the lane assembles for a single
	// write; larger bodies follow the header from the backend buffer.
	laneOutMax  = 64 << 10
	laneKeepOut = 16 << 10
)

// laneConn is one client connection served by the lane. Only its own
// goroutine uses it.
type laneConn struct {
	p   *Proxy
	c   net.Conn
	br  *bufio.Reader
	ctx context.Context // ends when the proxy closes
	ip  string
	out []byte
	req laneReq
}

// laneReq is one parsed request; its strings share one allocation.
type laneReq struct {
	method, uri, host string
	http10            bool
	close             bool // answer, then close the connection
	kv                [maxLaneFields]headerField
	nkv               int
	xff               []string
	named             []string // extra hop-by-hop fields named by Connection
}

// serveLane runs the lane on a freshly accepted client connection.
func (p *Proxy) serveLane(raw net.Conn) {
	defer p.wg.Done()
	c := p.clients.track(raw)
	select {
	case <-p.closed: // Close may have swept the set before c joined it
		c.Close()
		return
	default:
	}
	ctx, cancel := context.WithCancel(p.base)
	defer cancel()
	lc := &laneConn{
		p: p, c: c, ctx: ctx,
		br: bufio.NewReaderSize(c, laneReadBuffer),
		ip: clientIP(raw.RemoteAddr().String()),
	}
	if !lc.serve() {
		c.Close()
	}
}

// serve answers requests until the connection ends (false) or was handed
// to net/http (true).
func (lc *laneConn) serve() bool {
	br := lc.br
	for {
		if br.Buffered() == 0 {
			lc.c.SetReadDeadline(time.Now().Add(laneIdleTimeout))
			if _, err := br.Peek(1); err != nil {
				return false
			}
		} else {
			lc.c.SetReadDeadline(time.Now().Add(laneHeaderTimeout))
		}
		n, ok, err := lc.readHead()
		if err != nil {
			return false
		}
		if ok {
			head, _ := br.Peek(n)
			ok = lc.req.parse(head)
		}
		if !ok {
			return lc.handOff()
		}
		br.Discard(n)
		if !lc.handle(&lc.req) {
			return false
		}
		if cap(lc.out) > laneKeepOut {
			lc.out = nil // an idle connection keeps no big answer buffer
		}
	}
}

// readHead waits until the buffer holds a whole header and returns its
// length. It reports false for a header the lane leaves to net/http:
// longer than the buffer, or with bare LF line ends.
func (lc *laneConn) readHead() (int, bool, error) {
	br := lc.br
	for {
		buf, _ := br.Peek(br.Buffered())
		if end := bytes.Index(buf, crlfcrlf); end >= 0 {
			return end + 4, true, nil
		}
		if len(buf) >= br.Size() || hasBareLF(buf) {
			return 0, false, nil
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			return 0, false, err
		}
	}
}

func hasBareLF(b []byte) bool {
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
}

// handOff gives the connection, unread bytes first, to net/http.
func (lc *laneConn) handOff() bool {
	pre, _ := lc.br.Peek(lc.br.Buffered())
	pre = bytes.Clone(pre)
	lc.c.SetReadDeadline(time.Time{}) // net/http sets its own
	return lc.p.handoff.give(lc.c, pre)
}
