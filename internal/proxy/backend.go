package proxy

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// backend is everything the proxy keeps for one target name: its numbers,
// its own connection pools and the connections a Drain may have to cut.
// Giving each target its own pools lets a Drain close exactly the old
// color's backend connections without touching the live one.
type backend struct {
	name  string
	stats counters

	// pooled is the normal keep-alive path; fresh never reuses a
	// connection and is only used to retry after a pooled one failed.
	pooled *http.Transport
	fresh  *http.Transport

	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	idle chan *pconn // fast-path keep-alive pool, see fast.go

	upstream conns // backend connections dialed by either transport
	streams  conns // client connections of tunnels and TCP mode

	// cuts counts Drain cuts, so a request whose backend connection was
	// closed on purpose knows not to retry it.
	cuts atomic.Uint64
	// idleEpoch counts cuts and closeIdle calls; the event loops close
	// their pooled connections made before the latest one. wake tells
	// the loops to look.
	idleEpoch atomic.Uint64
	wake      func()
}

func newBackend(name string, wake func()) *backend {
	b := &backend{name: name, idle: make(chan *pconn, idleConns), wake: wake}
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return b.upstream.track(c), nil
	}
	b.dial = dial
	b.pooled = &http.Transport{
		DialContext:         dial,
		MaxIdleConns:        0, // no global cap; per host is what matters
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     60 * time.Second,
		DisableCompression:  true, // pass bytes through as the app sent them
		WriteBufferSize:     16 << 10,
		ReadBufferSize:      16 << 10,
	}
	b.fresh = &http.Transport{
		DialContext:        dial,
		DisableKeepAlives:  true,
		DisableCompression: true,
	}
	return b
}

// cut closes every connection towards or from this target, which ends its
// in-flight requests, streams and TCP connections.
func (b *backend) cut() {
	b.cuts.Add(1)
	b.upstream.closeAll()
	b.streams.closeAll()
	b.closeIdle()
}

// closeIdle drops pooled connections nobody is using.
func (b *backend) closeIdle() {
	b.pooled.CloseIdleConnections()
	b.drainIdle()
	b.idleEpoch.Add(1)
	if b.wake != nil {
		b.wake()
	}
}

// conns is a set of open connections. It takes a mutex, but only when a
// connection is opened or closed, never per request on a pooled connection.
type conns struct {
	mu  sync.Mutex
	set map[*trackedConn]struct{}
}

// trackedConn removes itself from its set when closed.
type trackedConn struct {
	net.Conn
	owner *conns
	once  sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.owner.remove(c) })
	return c.Conn.Close()
}

// untrack removes c from its set and leaves it open.
func (c *trackedConn) untrack() { c.once.Do(func() { c.owner.remove(c) }) }

// CloseWrite half-closes when the underlying connection can.
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (s *conns) track(c net.Conn) *trackedConn {
	t := &trackedConn{Conn: c, owner: s}
	s.mu.Lock()
	if s.set == nil {
		s.set = make(map[*trackedConn]struct{})
	}
	s.set[t] = struct{}{}
	s.mu.Unlock()
	return t
}

func (s *conns) remove(c *trackedConn) {
	s.mu.Lock()
	delete(s.set, c)
	s.mu.Unlock()
}

func (s *conns) closeAll() {
	s.mu.Lock()
	all := make([]*trackedConn, 0, len(s.set))
	for c := range s.set {
		all = append(all, c)
	}
	s.mu.Unlock()
	for _, c := range all {
		c.Close()
	}
}
