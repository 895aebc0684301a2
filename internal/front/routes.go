package front

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"

	"github.com/berth-dev/berth/internal/proxy"
)

// route is one app's listener and proxy inside the front.
type route struct {
	state RouteState
	p     *proxy.Proxy
	// sock is the front's own duplicate of the listening socket: it is
	// what the front hands its peers, and it keeps the socket open while
	// a replacement proxy takes over from the old one.
	sock   *os.File
	cancel context.CancelFunc
	done   chan struct{}
}

// routes is the front's routing table. Safe for concurrent use.
type routes struct {
	log  *slog.Logger
	path string // routes.json
	door *door  // the shared listeners of routes with hosts

	mu     sync.Mutex
	m      map[string]*route
	frozen bool // retired: the table belongs to the next front (upgrade.go)
}

// listen returns the listener for spec: passed when a peer sent one, else
// the socket of the route it replaces when the address is the same, else
// a new bind. The returned file is a duplicate the caller keeps.
func listen(spec RouteSpec, passed, reuse *os.File) (net.Listener, *os.File, error) {
	from := passed
	if from == nil {
		from = reuse
	}
	var ln net.Listener
	var err error
	if from != nil {
		ln, err = net.FileListener(from)
	} else {
		ln, err = net.Listen("tcp", spec.Listen)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("binding %s: %w", spec.Listen, err)
	}
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		ln.Close()
		return nil, nil, fmt.Errorf("binding %s: not a TCP listener", spec.Listen)
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("reaching the socket of %s: %w", spec.Listen, err)
	}
	sock, err := dupFile(rc, "listener")
	if err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("duplicating the socket of %s: %w", spec.Listen, err)
	}
	return ln, sock, nil
}

// listenFor is listen for a route that has a listen address; a route of
// hosts only gets no listener (nil, nil) and passed is closed.
func listenFor(spec RouteSpec, passed, reuse *os.File) (net.Listener, *os.File, error) {
	if spec.Listen == "" {
		closeFile(passed)
		return nil, nil, nil
	}
	ln, sock, err := listen(spec, passed, reuse)
	closeFile(passed) // listen duplicated it
	return ln, sock, err
}

// start makes and serves the proxy of st on ln; with no ln, a proxy that
// only the front door reaches (proxy.NewRouted).
func (rs *routes) start(st RouteState, ln net.Listener, sock *os.File) (*route, error) {
	cfg := proxy.Config{
		Listen:         st.Spec.Listen,
		Listener:       ln,
		Protocol:       st.Spec.Protocol,
		RequestTimeout: st.Spec.RequestTimeout,
		Logger:         rs.log.With("app", st.App),
	}
	newProxy := proxy.New
	if ln == nil {
		newProxy = proxy.NewRouted
	}
	p, err := newProxy(cfg)
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		closeFile(sock)
		return nil, fmt.Errorf("starting the proxy of %s: %w", st.App, err)
	}
	if len(st.Set) > 0 {
		p.SwitchSet(st.Live.Name, st.Set)
	} else {
		p.Switch(st.Live)
	}
	if m, ok := pauseMode(st.Pause); ok {
		p.Pause(m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &route{state: st, p: p, sock: sock, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := p.Serve(ctx); err != nil && ctx.Err() == nil {
			rs.log.Error("proxy stopped", "app", st.App, "err", err)
		}
	}()
	return r, nil
}

// stop closes the route's proxy and its duplicate of the socket.
func (r *route) stop() {
	r.cancel()
	r.p.Close()
	<-r.done
	closeFile(r.sock)
}

// put creates app's route on spec, or adopts it when it already serves
// exactly spec (created false). passed, when not nil, is the listening
// socket to serve; the routes own it from here on.
func (rs *routes) put(app string, spec RouteSpec, passed *os.File) (created bool, err error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if err := rs.conflict(app, spec); err != nil {
		closeFile(passed)
		return false, err
	}
	cur := rs.m[app]
	if cur != nil && cur.state.Spec.equal(spec) {
		closeFile(passed)
		return false, nil
	}
	st := RouteState{App: app, Spec: spec}
	var reuse *os.File
	if cur != nil {
		st.Live, st.Pause = cur.p.Live(), cur.state.Pause
		if cur.state.Spec.Listen == spec.Listen {
			reuse = cur.sock
		}
	}
	ln, sock, err := listenFor(spec, passed, reuse)
	if err != nil {
		return false, err
	}
	r, err := rs.start(st, ln, sock)
	if err != nil {
		return false, err
	}
	rs.m[app] = r
	rs.retableLocked()
	if cur != nil {
		cur.stop()
	}
	return true, rs.saveLocked()
}

func closeFile(f *os.File) {
	if f != nil {
		f.Close()
	}
}

// get returns app's route.
func (rs *routes) get(app string) (*route, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.m[app]
	if r == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoRoute, app)
	}
	return r, nil
}

// update changes app's persisted state with fn (which also acts on the
// proxy) and saves the table.
func (rs *routes) update(app string, fn func(r *route)) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.m[app]
	if r == nil {
		return fmt.Errorf("%w: %s", ErrNoRoute, app)
	}
	fn(r)
	return rs.saveLocked()
}

// remove stops app's route and forgets it.
func (rs *routes) remove(app string) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.m[app]
	if r == nil {
		return nil
	}
	delete(rs.m, app)
	rs.retableLocked()
	r.stop()
	return rs.saveLocked()
}

// states returns every route's state.
func (rs *routes) states() []RouteState {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := make([]RouteState, 0, len(rs.m))
	for _, r := range rs.m {
		out = append(out, r.state)
	}
	return out
}

// sockets returns the apps and a duplicate of each one's listening
// socket, in the same order; the caller closes the files.
func (rs *routes) sockets() ([]string, []*os.File, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	apps, files, err := rs.door.sockets()
	if err != nil {
		return nil, nil, err
	}
	for app, r := range rs.m {
		if r.sock == nil {
			continue
		}
		f, err := dupOf(r.sock)
		if err != nil {
			closeAll(files)
			return nil, nil, fmt.Errorf("duplicating the socket of %s: %w", app, err)
		}
		apps, files = append(apps, app), append(files, f)
	}
	return apps, files, nil
}

func (rs *routes) saveLocked() error {
	if rs.frozen {
		return nil
	}
	out := make([]RouteState, 0, len(rs.m))
	for _, r := range rs.m {
		out = append(out, r.state)
	}
	door := rs.door.current()
	return saveTable(rs.path, out, &door)
}

// closeAllRoutes stops every proxy (the front is exiting).
func (rs *routes) closeAllRoutes() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for app, r := range rs.m {
		r.stop()
		delete(rs.m, app)
	}
}
