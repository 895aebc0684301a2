package deploy

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/berth-dev/berth/internal/proxy"
	"github.com/berth-dev/berth/internal/spec"
)

// Proxy is what the engine asks of one app's front door: the methods of
// *proxy.Proxy it uses. Implementations: *proxy.Proxy itself (in-process,
// through LocalFront) and the client of a `berth front` process
// (internal/front), which keeps serving when the daemon dies.
type Proxy interface {
	Switch(t proxy.Target) (prev proxy.Target)
	// SwitchSet makes a weighted set of targets live under name at once
	// (an app's N instances); see proxy.Proxy.SwitchSet.
	SwitchSet(name string, members []proxy.Member) (prev proxy.Target)
	Live() proxy.Target
	// LiveSet returns the live targets and their weights; see
	// proxy.Proxy.LiveSet.
	LiveSet() []proxy.Member
	Stats(name string) proxy.Stats
	Drain(ctx context.Context, name string) proxy.DrainResult
	Pause(mode proxy.PauseMode)
	Resume()
}

// Front owns the apps' listeners and proxies: the data path the engine
// steers. Implementations must be safe for concurrent use.
type Front interface {
	// Route makes app serve svc and returns its proxy. When app already
	// has a route on exactly svc it is adopted as it is (its listener and
	// live target kept); when svc differs, the route is replaced and its
	// live target carried over.
	Route(app string, svc spec.Service) (Proxy, error)
	// Remove stops app's route and closes its listener.
	Remove(app string)
	// Close releases the engine's hold on the front. An in-process front
	// closes its proxies; a separate front process keeps serving.
	Close() error
}

// registry is the engine's bookkeeping of the apps' proxies: which app
// has one on which service. Safe for concurrent use.
type registry struct {
	front   Front
	routing sync.Mutex // one ensure at a time: a check and its bind are one step

	mu     sync.Mutex
	routes map[string]routed
}

type routed struct {
	p   Proxy
	svc spec.Service
}

func newRegistry(f Front) *registry {
	return &registry{front: f, routes: map[string]routed{}}
}

// ensure returns app's proxy, routing it on the front when the app has
// none or when the spec moved it to another address or protocol. A listen
// address held by another app is refused naming that app, before anything
// live is touched.
func (r *registry) ensure(app string, svc *spec.Service) (Proxy, error) {
	r.routing.Lock()
	defer r.routing.Unlock()
	r.mu.Lock()
	cur, ok := r.routes[app]
	for other, o := range r.routes {
		if other == app {
			continue
		}
		if err := hostClash(app, svc, other, &o.svc); err != nil {
			r.mu.Unlock()
			return nil, err
		}
		if svc.Listen != "" && o.svc.Listen != "" && listenOverlap(o.svc.Listen, svc.Listen) {
			r.mu.Unlock()
			return nil, fmt.Errorf("listening on %s for %s: app %s already listens on %s; give one of them another [service] listen", svc.Listen, app, other, o.svc.Listen)
		}
	}
	r.mu.Unlock()
	if ok && cur.svc.Equal(*svc) {
		return cur.p, nil
	}
	p, err := r.front.Route(app, *svc)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.routes[app] = routed{p: p, svc: *svc}
	r.mu.Unlock()
	return p, nil
}

// listenOverlap reports whether two listen addresses would take one port:
// the same port on the same host, or on a host and a wildcard (":8080",
// "0.0.0.0:8080", "[::]:8080") that includes it.
func listenOverlap(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil {
		return a == b
	}
	if pa != pb {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	norm := func(h string) string {
		if h == "localhost" {
			return "127.0.0.1"
		}
		if ip := net.ParseIP(h); ip != nil {
			return ip.String()
		}
		return h
	}
	return wild(ha) || wild(hb) || norm(ha) == norm(hb)
}

// get returns app's proxy, if it has one.
func (r *registry) get(app string) (Proxy, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.routes[app]
	return s.p, ok
}

// drop removes app's route (the app lost its [service]).
func (r *registry) drop(app string) {
	r.mu.Lock()
	_, ok := r.routes[app]
	delete(r.routes, app)
	r.mu.Unlock()
	if ok {
		r.front.Remove(app)
	}
}

// each calls fn for every app's proxy, outside the registry's lock.
func (r *registry) each(fn func(app string, p Proxy)) {
	r.mu.Lock()
	ps := make(map[string]Proxy, len(r.routes))
	for app, s := range r.routes {
		ps[app] = s.p
	}
	r.mu.Unlock()
	for app, p := range ps {
		fn(app, p)
	}
}

// close releases the front (see Front.Close).
func (r *registry) close() error {
	r.mu.Lock()
	r.routes = map[string]routed{}
	r.mu.Unlock()
	return r.front.Close()
}
