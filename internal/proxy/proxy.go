// Package proxy is the front door of one app: an HTTP or TCP reverse proxy
// that sends every new request (HTTP) or connection (TCP) to the live
// target and can switch that target atomically, so a blue-green deploy
// drops nothing. It keeps lock-free per-target numbers for the verify
// window, drains the old target, and can pause new traffic.
//
// The request path takes no mutex and logs nothing: the live target is an
// atomic pointer and the numbers are atomic counters.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Config says where a Proxy listens and how it forwards.
type Config struct {
	Listen   string // host:port users connect to
	Protocol string // "http" or "tcp"
	// RequestTimeout bounds a whole HTTP request towards the backend,
	// body included; on expiry before the response header the client
	// gets 504. Zero means no limit. Upgraded connections are exempt.
	RequestTimeout time.Duration
	// HoldTimeout bounds how long PauseHold keeps a new request waiting
	// before answering 503. Zero means 30s.
	HoldTimeout time.Duration
	Logger      *slog.Logger // nil discards
	// Listener, when set, is served instead of binding Listen: a socket
	// handed over by systemd (socket activation), so a daemon restart
	// refuses no connection. The proxy closes it on Close.
	Listener net.Listener
}

// Target is one place traffic can go: a named color of an app.
type Target struct {
	Name string // e.g. "blue"
	Addr string // e.g. "127.0.0.1:9001"
}

// route is what the live pointer holds: a target and its backend state.
type route struct {
	target Target
	b      *backend
	ipPort bool // Addr is ip:port (of every member), which the event loops can dial
	// set, when not nil, makes this route a group (SwitchSet): b is then
	// nil and requests go to one of the set's member routes.
	set *set
}

// Proxy forwards traffic from one listener to the live target. All its
// methods are safe for concurrent use.
type Proxy struct {
	cfg Config
	log *slog.Logger
	ln  net.Listener
	srv *http.Server // nil in tcp mode

	// In http mode the lane (lane.go) accepts every client connection
	// and gives the ones it does not serve to srv through handoff.
	handoff *handoff
	clients conns // the lane's client connections, handed off ones too
	// loops serve HTTP/1 clients when the listener allows (loop.go);
	// noLoops keeps every client on the goroutine lane.
	loops   atomic.Pointer[[]*evloop]
	noLoops bool

	live atomic.Pointer[route]
	// prev is the live route Switch replaced, kept as the fallback of a
	// refused dial until Drain of that target starts (fallback.go).
	prev  atomic.Pointer[route]
	pause pauser

	mu       sync.Mutex // guards backends, only off the request path
	backends map[string]*backend

	bufs      bufPool
	active    atomic.Int64 // handlers and tcp connections running now
	served    atomic.Bool
	retiring  atomic.Bool // Retire runs: accept nothing, close idle clients (retire.go)
	closed    chan struct{}
	base      context.Context // canceled by Close; bounds dials and holds
	cancel    context.CancelFunc
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup // accept loop, lane and tcp connection goroutines
}

// New checks cfg and binds the listener, so a port conflict is reported
// here rather than when serving starts.
func New(cfg Config) (*Proxy, error) {
	if cfg.Protocol != "http" && cfg.Protocol != "tcp" {
		return nil, fmt.Errorf("creating proxy: protocol %q is neither \"http\" nor \"tcp\"", cfg.Protocol)
	}
	if cfg.RequestTimeout < 0 || cfg.HoldTimeout < 0 {
		return nil, errors.New("creating proxy: timeouts must not be negative")
	}
	if cfg.HoldTimeout == 0 {
		cfg.HoldTimeout = 30 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return nil, fmt.Errorf("binding proxy listener %s: %w", cfg.Listen, err)
		}
	}
	base, cancel := context.WithCancel(context.Background())
	p := &Proxy{
		base:     base,
		cancel:   cancel,
		cfg:      cfg,
		log:      log,
		ln:       ln,
		backends: make(map[string]*backend),
		closed:   make(chan struct{}),
	}
	if cfg.Protocol == "http" {
		p.srv = p.newServer()
		p.handoff = newHandoff(ln.Addr())
	}
	return p, nil
}

// Addr returns the address the proxy listens on.
func (p *Proxy) Addr() net.Addr { return p.ln.Addr() }

// Serve accepts and forwards until ctx is done or Close is called, then
// closes the proxy. It returns nil after an orderly stop. Serve may be
// called only once.
func (p *Proxy) Serve(ctx context.Context) error {
	if !p.served.CompareAndSwap(false, true) {
		return errors.New("serving proxy: Serve called twice")
	}
	select {
	case <-p.closed:
		return nil
	default:
	}
	stop := context.AfterFunc(ctx, func() { p.Close() })
	defer stop()
	var err error
	if p.srv != nil {
		if fd, ok := listenerFD(p.ln); !ok || p.noLoops || p.startLoops(fd) != nil {
			p.wg.Add(1)
			go p.accept(p.serveLane)
		}
		err = p.srv.Serve(p.handoff)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	} else {
		p.wg.Add(1)
		err = p.accept(p.serveTCP)
	}
	select {
	case <-p.closed:
		return nil
	default:
	}
	if err != nil {
		return fmt.Errorf("serving proxy on %s: %w", p.ln.Addr(), err)
	}
	return nil
}

// Close stops accepting, closes every client and backend connection and
// waits until no request or connection goroutine of the proxy is left.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		close(p.closed)
		p.cancel()
		p.stopLoops() // before the listener closes: they accept on it
		p.closeErr = p.ln.Close()
		if errors.Is(p.closeErr, net.ErrClosed) {
			p.closeErr = nil
		}
		if p.srv != nil {
			p.srv.Close() // closes handoff and the connections it served
			p.handoff.Close()
			p.clients.closeAll()
		}
		for _, b := range p.allBackends() {
			b.cut()
		}
		p.wg.Wait()
		// Handlers notice the closed connections on their own; give them
		// the time they need, polling because they are not in a WaitGroup
		// (the request path would pay for one).
		for p.active.Load() > 0 {
			time.Sleep(2 * time.Millisecond)
		}
		for _, b := range p.allBackends() {
			b.closeIdle()
			b.fresh.CloseIdleConnections()
		}
	})
	if p.closeErr != nil {
		return fmt.Errorf("closing proxy: %w", p.closeErr)
	}
	return nil
}

// Switch makes t the live target in one atomic step and returns the
// previous one. Every request or connection that starts after Switch
// returns goes to t; those already started finish where they are.
//
// The previous target, if it has another name, becomes the fallback: a
// request whose connection to t is refused goes there instead, until
// Drain of the previous target starts or the next Switch. Switching to
// the zero Target clears the fallback.
func (p *Proxy) Switch(t Target) (prev Target) {
	var next *route
	if t != (Target{}) {
		_, err := netip.ParseAddrPort(t.Addr)
		next = &route{target: t, b: p.backend(t.Name), ipPort: err == nil}
	}
	return p.swap(next, t.Name)
}

// swap makes next (nil: none) live under name and keeps the route it
// replaced as the fallback when that had another name.
func (p *Proxy) swap(next *route, name string) (prev Target) {
	old := p.live.Swap(next)
	if old == nil {
		p.prev.Store(nil)
		return Target{}
	}
	if next == nil || old.target.Name == name {
		p.prev.Store(nil)
	} else {
		p.prev.Store(old)
	}
	return old.target
}

// Live returns the live target; the zero Target means none, in which case
// HTTP clients get 503 and TCP connections are closed.
func (p *Proxy) Live() Target {
	if r := p.live.Load(); r != nil {
		return r.target
	}
	return Target{}
}

// Stats returns the cumulative numbers of target name; zero if the proxy
// never sent it anything.
func (p *Proxy) Stats(name string) Stats {
	p.mu.Lock()
	b := p.backends[name]
	p.mu.Unlock()
	if b == nil {
		return Stats{}
	}
	return b.stats.snapshot()
}

// backend returns the state of target name, creating it on first use.
func (p *Proxy) backend(name string) *backend {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.backends[name]
	if b == nil {
		b = newBackend(name, p.wakeLoops)
		p.backends[name] = b
	}
	return b
}

func (p *Proxy) lookup(name string) *backend {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.backends[name]
}

func (p *Proxy) allBackends() []*backend {
	p.mu.Lock()
	defer p.mu.Unlock()
	all := make([]*backend, 0, len(p.backends))
	for _, b := range p.backends {
		all = append(all, b)
	}
	return all
}

// acquire picks the live route and counts the caller in flight on it. It
// re-reads the live pointer after counting: if a Switch happened in
// between, the caller has sent nothing yet, so it moves to the new route.
// That closes the window in which Drain could see zero in flight on the
// old target while a request was about to be sent there. pn is the
// request's CanaryHeader pin (pinNone for TCP).
func (p *Proxy) acquire(pn pin) *route {
	for {
		r := p.live.Load()
		if r == nil {
			return nil
		}
		m := r
		if r.set != nil {
			m = r.set.pick(Target{}, pn)
		}
		m.b.stats.inFlight.Add(1)
		if p.live.Load() == r {
			m.b.stats.requests.Add(1)
			return m
		}
		m.b.stats.inFlight.Add(-1)
	}
}

func (r *route) release() { r.b.stats.inFlight.Add(-1) }
