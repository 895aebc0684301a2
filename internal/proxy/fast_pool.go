package proxy

import (
	"bufio"
	"context"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The fast path's pool of backend connections. A connection goes back
// only when its answer was read to the last byte and nothing followed
// it, and is taken again only if the backend sent nothing since: bytes
// an app writes after its answer would otherwise become the answer to
// the next request on that connection, which may be another client's.
// The event loops' pools follow the same rule (loop_upstream.go).

const (
	// idleConns bounds the pool: a buffered channel, so taking and
	// returning a connection is a non-blocking channel operation and no
	// mutex of ours.
	idleConns = 1024
	// fastIdleTimeout is how long a pooled connection may wait for its
	// next request, as the loops' loopIdleTimeout and the Transport's.
	fastIdleTimeout = loopIdleTimeout
)

func newUpReader(c net.Conn) *bufio.Reader { return bufio.NewReaderSize(c, upBuffer) }
func newUpWriter(c net.Conn) *bufio.Writer { return bufio.NewWriterSize(c, 8<<10) }

// newPconn wraps c, a connection to addr, for the fast path.
func newPconn(addr string, c net.Conn) *pconn {
	pc := &pconn{addr: addr, c: c, br: newUpReader(c), bw: newUpWriter(c)}
	if sc, ok := socketOf(c).(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			pc.raw = raw
			// Made once per connection: a method value or closure passed
			// to Control per request would be an allocation each time.
			pc.peek = func(fd uintptr) {
				var b [1]byte
				n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
				// Data, or the backend's FIN (n == 0), or an error other
				// than "nothing yet": the connection is not clean.
				pc.pending = n > 0 || (err == nil && n == 0) || (err != nil && err != unix.EAGAIN)
			}
		}
	}
	return pc
}

// socketOf returns the socket under the proxy's wrappers of c.
func socketOf(c net.Conn) net.Conn {
	for {
		switch x := c.(type) {
		case *trackedConn:
			c = x.Conn
		case *handedConn:
			c = x.Conn
		default:
			return c
		}
	}
}

// clean reports whether pc holds no byte of its backend's beyond the
// last answer: none buffered by us, none waiting in the socket.
func (pc *pconn) clean() bool {
	if pc.br.Buffered() > 0 {
		return false
	}
	for c := pc.c; ; {
		switch x := c.(type) {
		case *trackedConn:
			c = x.Conn
			continue
		case *handedConn:
			if len(x.pre) > 0 {
				return false
			}
			c = x.Conn
			continue
		}
		break
	}
	if pc.raw == nil {
		return true
	}
	pc.pending = false
	if pc.raw.Control(pc.peek) != nil {
		return false
	}
	return !pc.pending
}

func (b *backend) getConn(ctx context.Context, addr string, fresh bool) (*pconn, error) {
	if !fresh {
		for {
			select {
			case pc := <-b.idle:
				// The target moved to another port, the connection waited
				// too long, or the backend spoke (or closed) meanwhile.
				if pc.addr != addr || time.Since(pc.idleSince) > fastIdleTimeout || !pc.clean() {
					pc.c.Close()
					continue
				}
				return pc, nil
			default:
			}
			break
		}
	}
	c, err := b.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return newPconn(addr, c), nil
}

// putConn pools pc, whose last answer was read whole, unless bytes
// followed it or the pool is full.
func (b *backend) putConn(pc *pconn) {
	if pc.br.Buffered() > 0 {
		pc.c.Close() // the backend sent more than its answer
		return
	}
	pc.idleSince = time.Now()
	select {
	case b.idle <- pc:
	default:
		pc.c.Close()
	}
}

// drainIdle closes every pooled fast-path connection.
func (b *backend) drainIdle() {
	for {
		select {
		case pc := <-b.idle:
			pc.c.Close()
		default:
			return
		}
	}
}
