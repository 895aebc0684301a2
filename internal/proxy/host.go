package proxy

import (
	"net"
	"sync"
)

// NewRouted returns an HTTP proxy without a listener of its own: a shared
// front door (many apps on one port, by host name) hands it requests
// through ServeHTTP. Switch, SwitchSet, Drain, Pause and Stats work as on
// a listening proxy; Serve waits until Close. cfg.Listen and cfg.Listener
// are ignored and cfg.Protocol must be "http".
func NewRouted(cfg Config) (*Proxy, error) {
	cfg.Listen = ""
	cfg.Listener = newIdleListener()
	return New(cfg)
}

// idleListener accepts nothing until it is closed: the listener of a
// proxy that is only reached through ServeHTTP.
type idleListener struct {
	done chan struct{}
	once sync.Once
}

func newIdleListener() *idleListener { return &idleListener{done: make(chan struct{})} }

func (l *idleListener) Accept() (net.Conn, error) {
	<-l.done
	return nil, net.ErrClosed
}

func (l *idleListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *idleListener) Addr() net.Addr { return idleAddr{} }

// idleAddr names the listener of a routed proxy in logs.
type idleAddr struct{}

func (idleAddr) Network() string { return "routed" }
func (idleAddr) String() string  { return "front door" }
