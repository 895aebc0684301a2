package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"sync/atomic"
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
	laneIdleTimeout   = IdleTimeout   // between requests (timeouts.go)
	laneHeaderTimeout = HeaderTimeout // for the rest of a header (timeouts.go)
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
	// https says the client came over TLS (X-Forwarded-Proto); status is
	// the last answer's, for the front door's numbers (ClientConn).
	https  bool
	status int
	// drain, when set and true, makes every answer the connection's
	// last (Connection: close): its server is retiring (ClientConn).
	drain *atomic.Bool
}

// answerTo is what answering a request needs to know of it.
type answerTo struct {
	method string
	http10 bool
	close  bool // answer, then close the connection
}

// laneReq is one parsed request; its strings point into the buffer it
// was parsed from.
type laneReq struct {
	answerTo
	uri, host string
	kv        [maxLaneFields]headerField
	nkv       int
	xff       []string
	named     []string // extra hop-by-hop fields named by Connection
	pin       pin      // CanaryHeader's, which is not forwarded
}

// serveLane runs the lane on a freshly accepted client connection.
func (p *Proxy) serveLane(raw net.Conn) { p.serveLaneFrom(raw, nil, nil) }

// takeover is an exchange the event loop started and leaves to the lane:
// the request went out on pc, and its answer is one the loop does not
// handle (streamed, chunked, large, informational).
type takeover struct {
	q     answerTo
	rt    *route // counted in flight
	pc    *pconn
	start time.Time
}

// serveLaneFrom runs the lane on a client connection whose first bytes,
// pre, were already read, finishing ex first if the loop left one.
func (p *Proxy) serveLaneFrom(raw net.Conn, pre []byte, ex *takeover) {
	defer p.wg.Done()
	ip := clientIP(raw.RemoteAddr().String())
	if len(pre) > 0 {
		raw = &handedConn{Conn: raw, pre: pre}
	}
	c := p.clients.track(raw)
	select {
	case <-p.closed: // Close may have swept the set before c joined it
		c.Close()
		if ex != nil {
			ex.pc.c.Close()
			ex.rt.release()
		}
		return
	default:
	}
	ctx, cancel := context.WithCancel(p.base)
	defer cancel()
	lc := &laneConn{
		p: p, c: c, ctx: ctx, ip: ip,
		br:    bufio.NewReaderSize(c, laneReadBuffer),
		drain: &p.retiring, // a retiring proxy's answers say Connection: close
	}
	if ex != nil && !lc.finish(ex) {
		c.Close()
		return
	}
	if !lc.serve() {
		c.Close()
	}
}

// finish reads and forwards the answer of the exchange ex and reports
// whether the connection stays open.
func (lc *laneConn) finish(ex *takeover) bool {
	ctx, cancel := lc.requestContext(ex.start)
	defer cancel()
	stop := watch(ctx, ex.pc, true)
	var early earlyWriter
	if !ex.q.http10 {
		early = lc
	}
	resp, err := ex.pc.readResponse(ex.q.method, early)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		ex.pc.c.Close()
		if !errors.Is(err, context.DeadlineExceeded) {
			ex.rt.b.stats.connErrors.Add(1)
		}
	}
	return lc.respond(ctx, &ex.q, ex.rt, ex.pc, resp, stop, err, ex.start)
}

// serve answers requests until the connection ends (false) or was handed
// to net/http (true).
func (lc *laneConn) serve() bool {
	for {
		ok, handOff := lc.next()
		if !ok {
			return handOff && lc.handOff()
		}
		if !lc.handle(&lc.req) {
			return false
		}
		lc.trim()
	}
}

// next waits for the next request head and parses it into lc.req. It
// reports false when the connection ended, or, with handOff, when the
// request is one the lane leaves to net/http (nothing of it consumed).
func (lc *laneConn) next() (ok, handOff bool) {
	br := lc.br
	if br.Buffered() == 0 {
		lc.c.SetReadDeadline(time.Now().Add(laneIdleTimeout))
		if _, err := br.Peek(1); err != nil {
			return false, false
		}
	} else {
		lc.c.SetReadDeadline(time.Now().Add(laneHeaderTimeout))
	}
	n, ok, err := lc.readHead()
	if err != nil {
		return false, false
	}
	if ok {
		head, _ := br.Peek(n)
		ok = lc.req.parse(head)
	}
	if !ok {
		return false, true
	}
	br.Discard(n)
	return true, false
}

// trim lets an idle connection keep no big answer buffer.
func (lc *laneConn) trim() {
	if cap(lc.out) > laneKeepOut {
		lc.out = nil
	}
}

// readHead waits until the buffer holds a whole header and returns its
// length. It reports false for a header the lane leaves to net/http:
// longer than the buffer, or with bare LF line ends.
func (lc *laneConn) readHead() (int, bool, error) {
	br := lc.br
	// The first byte may have come after the idle deadline; the rest of
	// the head gets the header timeout from then on, against slow loris.
	timed := false
	for {
		buf, _ := br.Peek(br.Buffered())
		if end := bytes.Index(buf, crlfcrlf); end >= 0 {
			return end + 4, true, nil
		}
		if len(buf) >= br.Size() || hasBareLF(buf) {
			return 0, false, nil
		}
		if !timed {
			lc.c.SetReadDeadline(time.Now().Add(laneHeaderTimeout))
			timed = true
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
