package proxy

import (
	"net"
	"sync"
)

// ConnListener is a net.Listener whose Accept returns the connections
// given to it: it lets a net/http server serve connections that another
// piece accepted and read first (the lane's hand-offs, the front door's
// TLS connections). Safe for concurrent use.
type ConnListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

// NewConnListener returns a ConnListener that reports addr.
func NewConnListener(addr net.Addr) *ConnListener {
	return &ConnListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

// Accept implements net.Listener.
func (l *ConnListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener; connections given later are refused.
func (l *ConnListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr implements net.Listener.
func (l *ConnListener) Addr() net.Addr { return l.addr }

// Give passes c to the server; false when the listener is closed (c is
// then the caller's to close).
func (l *ConnListener) Give(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}
