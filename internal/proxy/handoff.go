package proxy

import (
	"net"
)

// handoff is the listener net/http serves: its Accept returns the client
// connections the lane gave up on, already-read bytes included, so the
// server sees each connection from its first byte.
type handoff struct{ *ConnListener }

func newHandoff(addr net.Addr) *handoff { return &handoff{NewConnListener(addr)} }

// give passes c, whose first bytes were read into pre, to the server,
// behind the request checks of guard.go. It reports false, having closed
// c, when the server is gone.
func (l *handoff) give(c net.Conn, pre []byte) bool {
	if l.Give(newGuardedConn(c, pre)) {
		return true
	}
	c.Close()
	return false
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
