package proxy

import (
	"bytes"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// upconn is one keep-alive connection from a loop to a backend.
type upconn struct {
	fd         int
	ser        int32
	addr       string
	b          *backend
	epoch      uint64 // b.idleEpoch when the connection went idle
	buf        []byte // answer bytes read and not yet handled; nil while pooled
	wbuf       []byte // the request
	wsent      int    // bytes of wbuf written
	connecting bool
	readable   bool
	writable   bool
	reused     bool
	closed     bool
	c          *client   // whose request is on it; nil while idle
	deadline   time.Time // of the dial, or of staying idle in the pool
}

// errNotLoopAddr says a target address is not an IP literal the loop
// can dial without a resolver; such targets take the goroutine lane.
var errNotLoopAddr = errors.New("target address is not ip:port")

func (u *upconn) serial() int32 { return u.ser }

func (u *upconn) event(l *evloop, ev uint32) {
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		u.readable = true
	}
	if ev&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		u.writable = true
	}
	if u.c == nil {
		if u.readable { // an idle connection the backend closed, or spoke on
			l.closeUp(u)
		}
		return
	}
	if u.connecting {
		if !u.writable {
			return
		}
		if e, err := unix.GetsockoptInt(u.fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || e != 0 {
			l.upFailed(u)
			return
		}
		u.connecting = false
	}
	l.send(u)
}

// take returns a pooled connection to rt's target, or dials one.
func (l *evloop) take(rt *route) (*upconn, error) {
	b := rt.b
	list := l.idle[b]
	epoch := b.idleEpoch.Load()
	for len(list) > 0 {
		u := list[len(list)-1]
		list[len(list)-1] = nil
		list = list[:len(list)-1]
		if u.closed {
			continue
		}
		if u.addr == rt.target.Addr && u.epoch == epoch {
			l.idle[b] = list
			u.reused = true
			u.buf = l.bufs.getUp()
			return u, nil
		}
		l.closeUp(u) // the target moved, or closeIdle ran
	}
	l.idle[b] = list
	return l.dial(b, rt.target.Addr)
}

// dial starts a non-blocking connect to addr.
func (l *evloop) dial(b *backend, addr string) (*upconn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, errNotLoopAddr
	}
	var sa unix.Sockaddr
	family := unix.AF_INET
	if ip := ap.Addr(); ip.Is4() {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ip.As4()}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	tuneTCP(fd, 30)
	u := &upconn{fd: fd, ser: l.nextSerial(), addr: addr, b: b, buf: l.bufs.getUp(), writable: true}
	switch err = unix.Connect(fd, sa); err {
	case nil:
	case unix.EINPROGRESS:
		u.connecting = true
		u.deadline = l.now.Add(loopDialTimeout)
	default:
		unix.Close(fd)
		return nil, err
	}
	if err := l.register(fd, u); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return u, nil
}

// send writes what is left of the request, then reads the answer once
// epoll said there is one.
func (l *evloop) send(u *upconn) {
	if u.connecting {
		return
	}
	for u.wsent < len(u.wbuf) {
		if !u.writable {
			return
		}
		n, err := rawWrite(u.fd, u.wbuf[u.wsent:])
		if n > 0 {
			u.wsent += n
		}
		if err != nil && !isTemporary(err) {
			l.upFailed(u)
			return
		}
		if u.wsent < len(u.wbuf) {
			u.writable = false
		}
	}
	l.receive(u)
}

// receive reads the answer until it is complete, or the loop has to wait
// for more of it.
func (l *evloop) receive(u *upconn) {
	for {
		if len(u.buf) > 0 && l.answer(u) {
			return
		}
		if !u.readable {
			return
		}
		had := len(u.buf)
		n, err := rawRead(u.fd, u.buf[had:cap(u.buf)])
		switch {
		case n > 0:
			u.buf = u.buf[:had+n]
			u.readable = had+n == cap(u.buf)
		case isTemporary(err):
			u.readable = false
		default: // the backend closed, or the connection broke
			l.upFailed(u)
			return
		}
	}
}

// answer looks at the answer bytes read so far. Once they hold a whole
// simple answer it sends it to the client and reports true; it also
// reports true after giving an answer the loop does not handle to the
// goroutine lane. False means: wait for more bytes.
func (l *evloop) answer(u *upconn) bool {
	c := u.c
	end := bytes.Index(u.buf, crlfcrlf)
	if end < 0 {
		if len(u.buf) == cap(u.buf) {
			l.ejectExchange(c) // a long header
			return true
		}
		return false
	}
	if c.req.method == http.MethodHead {
		l.ejectExchange(c) // its Content-Length frames no body
		return true
	}
	status, clen, nkv, ok := parseSimple(u.buf[:end+2], &l.kv)
	if !ok || int64(end+4)+clen > int64(cap(u.buf)) {
		l.ejectExchange(c) // chunked, a stream, 1xx, large, or unusual
		return true
	}
	total := end + 4 + int(clen)
	if len(u.buf) < total {
		return false // parsed again once more bytes are in; l.kv is overwritten
	}
	body := u.buf[end+4 : total]
	l.lastIfRetiring(c)
	c.out = appendSimpleHead(l.bufs.getOut(), status, l.kv[:nkv], clen, body[:min(len(body), 512)], &c.req)
	c.out = append(c.out, body...)
	// Bytes past the answer mean the backend is confused: drop it.
	reusable := len(u.buf) == total
	u.buf = u.buf[:0]
	u.c = nil
	u.wsent = 0
	c.ex.u = nil
	if reusable {
		l.pool(u)
	} else {
		l.closeUp(u)
	}
	l.finish(c, status)
	return true
}

// pool keeps u for the next request to its target, unless the loop
// already keeps loopIdleMax idle connections to it.
func (l *evloop) pool(u *upconn) {
	list := l.idle[u.b]
	if len(list) >= loopIdleMax {
		list = slices.DeleteFunc(list, func(x *upconn) bool { return x.closed })
		l.idle[u.b] = list
	}
	if len(list) >= loopIdleMax {
		l.closeUp(u)
		return
	}
	u.readable = false
	l.bufs.putUp(u.buf)
	u.buf = nil
	u.epoch = u.b.idleEpoch.Load()
	u.deadline = l.now.Add(loopIdleTimeout)
	l.idle[u.b] = append(l.idle[u.b], u)
}

// upFailed ends the exchange on u after its connection failed.
func (l *evloop) upFailed(u *upconn) {
	c := u.c
	if c == nil {
		l.closeUp(u)
		return
	}
	c.ex.rt.b.stats.connErrors.Add(1)
	l.failExchange(c, false)
}

func (l *evloop) closeUp(u *upconn) {
	if u.closed {
		return
	}
	u.closed = true
	if l.fds[u.fd] == u {
		l.close(u.fd)
	}
}
