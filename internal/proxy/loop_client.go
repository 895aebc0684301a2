package proxy

import (
	"bytes"
	"net/http"
	"time"

	"golang.org/x/sys/unix"
)

// client is one HTTP/1 client connection served by a loop. Edge-triggered
// epoll reports new data once, so readable and writable remember what it
// said until a read or write finds the socket drained or full.
type client struct {
	fd       int
	ser      int32
	ip       string
	in       []byte // request bytes read and not yet handled; nil when none
	out      []byte // the answer being written; nil when none
	sent     int    // bytes of out written
	readable bool
	writable bool
	eof      bool     // the client sent its last byte
	closing  bool     // close once out is written
	req      answerTo // of the request under way or last answered
	ex       exchange
	deadline time.Time // idle or header timeout, while no exchange runs
}

// exchange is one request in flight from a client to a backend.
type exchange struct {
	rt       *route // nil when no exchange runs; counted in flight
	u        *upconn
	start    time.Time
	deadline time.Time // of the request timeout; zero for none
	gen      uint64    // rt.b.cuts when the request started
	retried  bool
	fallen   bool // moved to the fallback target
}

func newLoopClient(fd int, ip string, ser int32, now time.Time) *client {
	return &client{
		fd: fd, ser: ser, ip: ip,
		writable: true,
		deadline: now.Add(laneIdleTimeout),
	}
}

func (c *client) serial() int32 { return c.ser }

func (c *client) event(l *evloop, ev uint32) {
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.readable = true
	}
	if ev&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.writable = true
	}
	l.advance(c)
}

// advance moves c on as far as it can without waiting: it writes the
// pending answer, then handles buffered requests one at a time, then
// reads. It stops while an exchange waits for its backend.
func (l *evloop) advance(c *client) {
	for {
		if c.sent < len(c.out) {
			if !c.writable {
				return
			}
			n, err := rawWrite(c.fd, c.out[c.sent:])
			if n > 0 {
				c.sent += n
			}
			if err != nil && !isTemporary(err) {
				l.closeClient(c)
				return
			}
			if c.sent < len(c.out) {
				c.writable = false // a short write means the buffer is full
				c.deadline = l.now.Add(laneIdleTimeout)
				return
			}
			c.sent = 0
			l.bufs.putOut(c.out)
			c.out = nil
			if c.closing {
				l.closeClient(c)
				return
			}
			c.deadline = l.now.Add(laneIdleTimeout)
		}
		if c.ex.rt != nil {
			l.idleIn(c)
			return
		}
		if len(c.in) > 0 {
			if end := bytes.Index(c.in, crlfcrlf); end >= 0 {
				if !l.start(c, end+4) {
					return
				}
				continue
			}
			if len(c.in) == cap(c.in) || hasBareLF(c.in) {
				l.eject(c) // net/http answers these
				return
			}
		}
		if c.eof {
			l.closeClient(c)
			return
		}
		if !c.readable {
			l.idleIn(c)
			return
		}
		if c.in == nil {
			c.in = l.bufs.getIn()
		}
		had := len(c.in)
		n, err := rawRead(c.fd, c.in[had:cap(c.in)])
		switch {
		case n > 0:
			c.in = c.in[:had+n]
			if had == 0 {
				c.deadline = l.now.Add(laneHeaderTimeout)
			}
			// A short read drained the socket: new data will raise a new
			// edge. Reading again now would only find it empty.
			c.readable = had+n == cap(c.in)
		case n == 0 && err == nil:
			c.eof = true
		case isTemporary(err):
			c.readable = false
		default:
			l.closeClient(c)
			return
		}
	}
}

// start handles the request whose head is c.in[:n]: it answers it or
// sends it to the live target. It reports false if c left the loop.
func (l *evloop) start(c *client, n int) bool {
	q := &l.req
	p := l.p
	if !q.parse(c.in[:n]) || p.pause.cur.Load() != nil {
		l.eject(c) // net/http judges it; the lane holds or refuses
		return false
	}
	if r := p.live.Load(); r != nil && !r.ipPort {
		l.eject(c) // a host name: the goroutine lane resolves it
		return false
	}
	// Nothing of q may point into c.in once it moves on: the method
	// becomes a constant, the rest is used before.
	q.method = methodName(q.method)
	c.req = q.answerTo
	rt := p.acquire(q.pin)
	if rt == nil {
		l.lastIfRetiring(c)
		c.out = appendAnswer(l.bufs.getOut(), &c.req, http.StatusServiceUnavailable, bodyNoTarget, false)
		c.closing = c.closing || c.req.close
		l.consume(c, n)
		return true
	}
	start := time.Now()
	gen := rt.b.cuts.Load()
	u, err := l.take(rt)
	if err == errNotLoopAddr { // the target changed since the check above
		rt.release()
		l.eject(c)
		return false
	}
	retried := false
	if err != nil && rt.b.cuts.Load() == gen {
		rt.b.stats.connErrors.Add(1)
		u, err = l.dial(rt.b, rt.target.Addr)
		retried = true
	}
	fallen := false
	if err != nil && rt.b.cuts.Load() == gen {
		if fb := p.fallback(rt); fb != nil {
			rt.b.stats.connErrors.Add(1)
			rt, gen, fallen = fb, fb.b.cuts.Load(), true
			u, err = l.take(rt)
		}
	}
	if err == nil {
		fq := fastReq{method: q.method, uri: q.uri, host: q.host, ip: c.ip, kv: q.kv[:q.nkv], xff: q.xff, closeOnly: true}
		u.wbuf = appendRequest(u.wbuf[:0], &fq)
	}
	clear(q.kv[:q.nkv])
	q.uri, q.host = "", ""
	clear(q.xff)
	l.consume(c, n)
	c.closing = c.req.close
	c.ex = exchange{rt: rt, u: u, start: start, gen: gen, retried: retried, fallen: fallen}
	if t := p.cfg.RequestTimeout; t > 0 {
		c.ex.deadline = start.Add(t)
		if c.ex.deadline.Before(l.sweep) {
			l.sweep = c.ex.deadline
		}
	}
	if err != nil {
		rt.b.stats.connErrors.Add(1)
		l.failExchange(c, false)
		return true
	}
	u.c = c
	l.send(u)
	return true
}

// methodName returns the constant for one of the lane's methods, so the
// name outlives the buffer it was parsed from.
func methodName(m string) string {
	switch m {
	case http.MethodHead:
		return http.MethodHead
	case http.MethodOptions:
		return http.MethodOptions
	}
	return http.MethodGet
}

// idleIn gives c's read buffer back to the loop while it holds nothing:
// an idle keep-alive connection then costs no buffer, and a busy one
// takes the same buffer back at once.
func (l *evloop) idleIn(c *client) {
	if c.in != nil && len(c.in) == 0 {
		l.bufs.putIn(c.in)
		c.in = nil
	}
}

// consume drops the first n bytes of c.in, keeping pipelined ones.
func (l *evloop) consume(c *client, n int) {
	c.in = c.in[:copy(c.in, c.in[n:])]
}

// finish sends the answer assembled in c.out after an exchange ended.
func (l *evloop) finish(c *client, status int) {
	ex := &c.ex
	ex.rt.b.stats.observe(status, time.Since(ex.start))
	ex.rt.release()
	*ex = exchange{}
	l.advance(c)
}

// failExchange ends c's exchange with 502, or 504 after its timeout; the
// backend connection, if any, is closed. Like sendFast it first retries,
// once, on a fresh connection when the failed one brought no answer and
// no Drain cut the target: the lane's requests are safe to resend.
func (l *evloop) failExchange(c *client, timeout bool) {
	ex := &c.ex
	if u := ex.u; u != nil {
		u.c = nil
		ex.u = nil
		// The retry's dial failing means its attempt sent nothing either:
		// the fallback may have the request as the retry would have.
		unsent := !timeout && len(u.buf) == 0 && u.wsent == 0
		if !timeout && len(u.buf) == 0 && !ex.retried && ex.rt.b.cuts.Load() == ex.gen {
			ex.retried = true
			if nu, err := l.dial(ex.rt.b, ex.rt.target.Addr); err == nil {
				nu.wbuf, u.wbuf = u.wbuf, nu.wbuf
				l.closeUp(u)
				nu.c, ex.u = c, nu
				l.send(nu)
				return
			}
			ex.rt.b.stats.connErrors.Add(1)
			unsent = true
		}
		if unsent && l.toFallback(c, u) {
			return
		}
		l.closeUp(u)
	}
	status, body := http.StatusBadGateway, bodyBadGw
	if timeout {
		status, body = http.StatusGatewayTimeout, bodyTimeout
	}
	c.out = appendAnswer(l.bufs.getOut(), &c.req, status, body, false)
	l.finish(c, status)
}

// toFallback moves c's request, of which the live target got no byte,
// to the fallback target (fallback.go), taking the request bytes from u,
// which it closes. It reports whether it did.
func (l *evloop) toFallback(c *client, u *upconn) bool {
	ex := &c.ex
	if ex.fallen || ex.rt.b.cuts.Load() != ex.gen {
		return false
	}
	fb := l.p.fallback(ex.rt)
	if fb == nil {
		return false
	}
	ex.rt, ex.gen, ex.fallen = fb, fb.b.cuts.Load(), true
	nu, err := l.take(fb)
	if err != nil {
		fb.b.stats.connErrors.Add(1)
		return false
	}
	nu.wbuf, u.wbuf = u.wbuf, nu.wbuf
	l.closeUp(u)
	nu.c, ex.u = c, nu
	l.send(nu)
	return true
}

func (l *evloop) timeoutExchange(c *client) { l.failExchange(c, true) }

// closeClient closes c; an exchange under way is abandoned.
func (l *evloop) closeClient(c *client) {
	if c.ex.rt != nil {
		if u := c.ex.u; u != nil {
			u.c = nil
			l.closeUp(u)
		}
		c.ex.rt.release()
		c.ex = exchange{}
	}
	if l.fds[c.fd] == c {
		l.close(c.fd)
		l.clients.Add(-1)
	}
}

// eject hands c, which has no exchange running, to the goroutine lane
// with the bytes it sent so far.
func (l *evloop) eject(c *client) {
	l.release(c.fd)
	l.clients.Add(-1)
	nc, err := fdConn(c.fd)
	if err != nil {
		return
	}
	p := l.p
	p.wg.Add(1)
	go p.serveLaneFrom(nc, bytes.Clone(c.in), nil)
}

// ejectExchange hands c and its exchange, whose answer the loop does not
// handle, to the goroutine lane, which reads the answer from the bytes
// the loop already read on.
func (l *evloop) ejectExchange(c *client) {
	ex := c.ex
	u := ex.u
	c.ex = exchange{}
	u.c = nil
	l.release(c.fd)
	l.clients.Add(-1)
	l.release(u.fd)
	nc, err := fdConn(c.fd)
	uc, uerr := fdConn(u.fd)
	if err != nil || uerr != nil {
		if nc != nil {
			nc.Close()
		}
		if uc != nil {
			uc.Close()
		}
		ex.rt.release()
		return
	}
	b := ex.rt.b
	tc := b.upstream.track(&handedConn{Conn: uc, pre: bytes.Clone(u.buf)})
	pc := newPconn(u.addr, tc)
	t := &takeover{rt: ex.rt, pc: pc, start: ex.start}
	t.q = c.req
	p := l.p
	p.wg.Add(1)
	go p.serveLaneFrom(nc, bytes.Clone(c.in), t)
}
