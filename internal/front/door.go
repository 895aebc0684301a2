package front

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
)

// Names of the front door's sockets in the socket table (sockets.go):
// they travel with the apps' sockets in listeners replies and in
// ListenersEnv, so a daemon holds them and a new front inherits them.
// App names cannot contain a colon.
const (
	doorHTTP  = "front:http"
	doorHTTPS = "front:https"
)

// DoorSpec configures the front door: the shared listeners on which
// routes with hosts are served by host name (daemon.toml [front]).
type DoorSpec struct {
	HTTP         string   `json:"http,omitempty"`  // "" turns it off
	HTTPS        string   `json:"https,omitempty"` // "" turns it off
	RedirectHTTP bool     `json:"redirect_http,omitempty"`
	ACME         ACMESpec `json:"acme,omitzero"`
	// Storage is the directory of certificates and ACME accounts
	// (0700; files 0600), kept across fronts.
	Storage string `json:"storage,omitempty"`
}

// ACMESpec is the ACME CA of the front door; Directory "" means none.
type ACMESpec struct {
	Email     string `json:"email,omitempty"`
	Directory string `json:"directory,omitempty"`
	CARoot    string `json:"ca_root,omitempty"` // PEM file of extra roots for the directory's HTTPS
}

// DoorTuning holds knobs a test may turn; zero values are the defaults.
type DoorTuning struct {
	RenewCheck  time.Duration // how often certificates are checked for renewal (certmagic: 10m)
	RenewWindow float64       // renew when less than this part of the lifetime is left (certmagic: 1/3)
}

// door is the front door. Its table is swapped atomically on every route
// change, so the request path takes no lock. Safe for concurrent use.
type door struct {
	log  *slog.Logger
	tune DoorTuning

	mu    sync.Mutex // guards spec, the listeners and certs (not the request path)
	spec  DoorSpec
	plain *doorListener
	tlsL  *doorListener
	certs *certs // nil without ACME

	table atomic.Pointer[hostTable]
	hosts hostCounters
	// live is what the request path reads of the above, without d.mu.
	live atomic.Pointer[doorLive]
}

// doorLive is the request path's view of the door's config.
type doorLive struct {
	certs    *certs // nil without ACME
	redirect bool   // redirect_http with an https listener
	port     string // the https port in redirects; "" for 443
}

// doorListener is one shared listener and the server on it.
type doorListener struct {
	addr string
	ln   net.Listener
	sock *os.File // the front's duplicate, for the socket table
	srv  *http.Server
	// lanes accepts the https listener and serves its HTTP/1.1
	// connections (door_lane.go); srv serves what it gives up. nil on
	// the http listener, which srv serves itself.
	lanes *tlsLanes
	done  chan struct{}
}

func newDoor(log *slog.Logger, tune DoorTuning) *door {
	d := &door{log: log, tune: tune}
	d.table.Store(&hostTable{})
	d.live.Store(&doorLive{})
	return d
}

// configure makes spec the door's: it binds (or takes from inherited)
// listeners whose address changed and starts the certificate manager.
// Listeners whose address did not change keep serving the same socket.
func (d *door) configure(spec DoorSpec, inherited map[string]*os.File) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	if spec.ACME != d.spec.ACME || spec.Storage != d.spec.Storage || spec.HTTP != d.spec.HTTP || spec.HTTPS != d.spec.HTTPS {
		if d.certs != nil {
			d.certs.close()
			d.certs = nil
		}
		if spec.ACME.Directory != "" {
			c, err := newCerts(d.log, spec, d.tune, d.table.Load)
			if err != nil {
				errs = append(errs, err)
			} else {
				d.certs = c
			}
		}
	}
	d.spec = spec
	var err error
	if d.plain, err = d.relisten(d.plain, spec.HTTP, inherited[doorHTTP], false); err != nil {
		errs = append(errs, err)
	}
	if d.tlsL, err = d.relisten(d.tlsL, spec.HTTPS, inherited[doorHTTPS], true); err != nil {
		errs = append(errs, err)
	}
	d.manageLocked()
	d.publishLocked()
	return errors.Join(errs...)
}

// publishLocked makes the config visible to the request path.
func (d *door) publishLocked() {
	l := &doorLive{certs: d.certs, redirect: d.spec.RedirectHTTP && d.spec.HTTPS != ""}
	if _, port, err := net.SplitHostPort(d.spec.HTTPS); err == nil && port != "443" {
		l.port = port
	}
	d.live.Store(l)
}

// relisten returns the listener for addr: cur when it already serves
// addr, else a new one (on passed when not nil), closing cur.
func (d *door) relisten(cur *doorListener, addr string, passed *os.File, secure bool) (*doorListener, error) {
	if cur != nil && cur.addr == addr {
		closeFile(passed)
		return cur, nil
	}
	if cur != nil {
		cur.close()
	}
	if addr == "" {
		closeFile(passed)
		return nil, nil
	}
	ln, sock, err := listen(RouteSpec{Listen: addr}, passed, nil)
	closeFile(passed)
	if err != nil {
		return nil, fmt.Errorf("front door: %w", err)
	}
	l := &doorListener{addr: addr, ln: ln, sock: sock, done: make(chan struct{})}
	l.srv = d.server(secure)
	served := ln
	if secure {
		// A copy: net/http's HTTP/2 set-up may edit the server's.
		l.lanes = newTLSLanes(d, ln, l.srv.TLSConfig.Clone())
		served = l.lanes.queue
	}
	go func() {
		defer close(l.done)
		var accepting sync.WaitGroup
		if l.lanes != nil {
			accepting.Go(l.lanes.accept)
		}
		err := l.srv.Serve(served)
		accepting.Wait()
		if !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			d.log.Error("front door stopped", "addr", addr, "err", err)
		}
	}()
	return l, nil
}

// server builds the http or https server of the door.
func (d *door) server(secure bool) *http.Server {
	var protos http.Protocols
	protos.SetHTTP1(true)
	srv := &http.Server{
		ReadHeaderTimeout: proxy.HeaderTimeout, // the proxies' policy, as on the lane
		IdleTimeout:       proxy.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
		Protocols:         &protos,
		// OPTIONS * belongs to the app, not to the door.
		DisableGeneralOptionsHandler: true,
	}
	if secure {
		protos.SetHTTP2(true)
		srv.Handler = http.HandlerFunc(d.serveTLS)
		srv.TLSConfig = &tls.Config{
			MinVersion:     tls.VersionTLS12,
			NextProtos:     []string{"h2", "http/1.1", acmeALPN},
			GetCertificate: d.certificate,
		}
	} else {
		protos.SetUnencryptedHTTP2(true)
		srv.Handler = http.HandlerFunc(d.servePlain)
	}
	return srv
}

// close stops the listener's server: it closes the listening socket and
// every connection on it.
func (l *doorListener) close() {
	l.srv.Close()
	if l.lanes != nil {
		l.lanes.close()
	}
	<-l.done
	l.sock.Close()
}

// sockets returns the door's socket names and duplicates of its sockets.
func (d *door) sockets() ([]string, []*os.File, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var names []string
	var files []*os.File
	for _, l := range []struct {
		name string
		l    *doorListener
	}{{doorHTTP, d.plain}, {doorHTTPS, d.tlsL}} {
		if l.l == nil {
			continue
		}
		f, err := dupOf(l.l.sock)
		if err != nil {
			closeAll(files)
			return nil, nil, fmt.Errorf("duplicating the socket of %s: %w", l.name, err)
		}
		names, files = append(names, l.name), append(files, f)
	}
	return names, files, nil
}

// current returns the door's spec.
func (d *door) current() DoorSpec {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.spec
}

// close stops the listeners and the certificate manager.
func (d *door) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range []*doorListener{d.plain, d.tlsL} {
		if l != nil {
			l.close()
		}
	}
	d.plain, d.tlsL = nil, nil
	if d.certs != nil {
		d.certs.close()
		d.certs = nil
	}
	d.live.Store(&doorLive{})
}

// retire stops the door accepting in this process only (the daemon and
// the next front hold the same sockets and serve their queue) and drains
// it: keep-alive connections close once idle, HTTP/2 ones get GOAWAY, and
// requests under way run to their end or until ctx ends, then the door
// closes. The proxies the door hands requests to are held meanwhile, so
// their own Retire waits for the door. done is closed when it is closed.
func (d *door) retire(ctx context.Context) (done <-chan struct{}) {
	d.mu.Lock()
	var ls []*doorListener
	for _, l := range []*doorListener{d.plain, d.tlsL} {
		if l != nil {
			l.srv.SetKeepAlivesEnabled(false)
			l.ln.Close() // this process's descriptor: no shutdown(2)
			if l.lanes != nil {
				l.lanes.retire()
			}
			ls = append(ls, l)
		}
	}
	d.mu.Unlock()
	var releases []func()
	seen := map[*proxy.Proxy]bool{}
	for _, rs := range d.table.Load().hosts {
		for _, r := range rs {
			if !seen[r.p] {
				seen[r.p] = true
				releases = append(releases, r.p.Hold())
			}
		}
	}
	c := make(chan struct{})
	go func() {
		defer close(c)
		var wg sync.WaitGroup
		for _, l := range ls {
			wg.Go(func() { l.srv.Shutdown(ctx) })
			if l.lanes != nil {
				wg.Go(func() { l.lanes.wait(ctx) })
			}
		}
		wg.Wait()
		for _, release := range releases {
			release()
		}
		d.close()
	}()
	return c
}

// setTable makes t the door's routing table and has certificates managed
// for its ACME hosts.
func (d *door) setTable(t *hostTable) {
	d.table.Store(t)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.manageLocked()
}

func (d *door) manageLocked() {
	if d.certs != nil {
		d.certs.manage(context.Background(), d.table.Load().acmeHosts())
	}
}
