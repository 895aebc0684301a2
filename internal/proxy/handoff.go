package proxy

import (
	"net"
	"sync"
)

// handoff is the listener net/http serves: its Accept returns the client
// connections the lane gave up on, already-read bytes included, so the
// server sees each connection from its first byte. It is safe for
// concurrent use.
type handoff struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newHandoff(addr net.Addr) *handoff {
	return &handoff{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoff) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoff) Addr() net.Addr { return l.addr }

// give passes c, whose first bytes were read into pre, to the server,
// behind the request checks of guard.go. It reports false, having closed
// c, when the server is gone.
func (l *handoff) give(c net.Conn, pre []byte) bool {
	hc := newGuardedConn(c, pre)
	select {
	case l.ch <- hc:
		return true
	case <-l.done:
		c.Close()
		return false
	}
}

// handedConn replays the bytes the lane read before reading the socket.
// net/http never reads one connection from two goroutines at once.
type handedConn struct {
	net.Conn
	pre []byte
}

func (c *handedConn) Read(b []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(b, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// CloseWrite lets net/http half-close as it does on a *net.TCPConn.
func (c *handedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
