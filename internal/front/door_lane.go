package front

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
)

// The https listener is accepted by the door itself, not by net/http: it
// completes each TLS handshake, then serves an HTTP/1.1 connection with
// the proxies' lane (proxy.ClientConn), request by request to the proxy
// of the request's host. net/http's server costs about half the door's
// CPU per keep-alive request (a Request, a header map, a context, a
// background read goroutine and a buffered writer each); the lane parses
// in place and writes each answer in one TLS record. HTTP/2 connections,
// ACME's TLS-ALPN-01 probes and the first request the lane does not serve
// (a body, an upgrade, a malformed head) go to net/http, which then keeps
// that connection; serveTLS answers them as before.

// tlsHandshakeTimeout bounds a handshake, as net/http bounded it by the
// door's ReadHeaderTimeout.
const tlsHandshakeTimeout = 10 * time.Second

// tlsLanes is the https listener's accept loop and its lane connections.
type tlsLanes struct {
	d     *door
	ln    net.Listener
	cfg   *tls.Config
	queue *proxy.ConnListener // what the listener's net/http server serves

	retiring atomic.Bool
	mu       sync.Mutex
	conns    map[*laneTrack]struct{}
	wg       sync.WaitGroup // the lane connections' goroutines
}

// laneTrack is one connection of the listener and whether it is idle:
// between requests, so that a retire may close it.
type laneTrack struct {
	c         net.Conn // a *tls.Conn
	state     atomic.Int32
	idleSince atomic.Int64 // unix nanoseconds, set before state goes idle
}

const (
	laneActive int32 = iota
	laneIdle
	laneClosed
)

func newTLSLanes(d *door, ln net.Listener, cfg *tls.Config) *tlsLanes {
	return &tlsLanes{d: d, ln: ln, cfg: cfg, queue: proxy.NewConnListener(ln.Addr()), conns: map[*laneTrack]struct{}{}}
}

// accept accepts until the listener closes.
func (t *tlsLanes) accept() {
	var delay time.Duration
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors and the like: wait as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t.d.log.Debug("front door: accepting", "err", err)
			time.Sleep(delay)
			continue
		}
		delay = 0
		lt := &laneTrack{c: tls.Server(c, t.cfg)}
		if !t.add(lt) {
			c.Close()
			continue
		}
		go t.serve(lt)
	}
}

func (t *tlsLanes) add(lt *laneTrack) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conns == nil {
		return false // closed
	}
	t.conns[lt] = struct{}{}
	t.wg.Add(1)
	return true
}

// done forgets lt; close says the connection is not net/http's now.
func (t *tlsLanes) done(lt *laneTrack, close bool) {
	if close {
		lt.c.Close()
	}
	t.mu.Lock()
	delete(t.conns, lt)
	t.mu.Unlock()
	t.wg.Done()
}

// serve completes the handshake of lt's connection and serves it.
func (t *tlsLanes) serve(lt *laneTrack) {
	tc := lt.c.(*tls.Conn)
	tc.SetDeadline(time.Now().Add(tlsHandshakeTimeout))
	if err := tc.Handshake(); err != nil {
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
		}
		t.d.log.Debug("front door: TLS handshake", "remote", tc.RemoteAddr().String(), "err", err)
		t.done(lt, true)
		return
	}
	tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	if p := st.NegotiatedProtocol; p != "" && p != "http/1.1" {
		// h2, or acme-tls/1 (whose client only wanted the certificate).
		t.done(lt, !t.queue.Give(tc))
		return
	}
	cc := proxy.NewClientConn(tc, true)
	cc.DrainOn(&t.retiring)
	switch t.lane(lt, cc, st.ServerName) {
	case proxy.NextHandOff:
		t.done(lt, !t.queue.Give(cc.HandOff()))
	default:
		t.done(lt, true)
	}
}

// lane serves requests on cc until the connection ends or a request is
// for net/http (NextHandOff).
func (t *tlsLanes) lane(lt *laneTrack, cc *proxy.ClientConn, sni string) proxy.NextResult {
	// A connection is idle only between requests: one that has not sent
	// its first request yet may have it on the way, and closing it would
	// fail a request its client does not send again (a retry is only made
	// on a reused connection).
	for answered := false; ; answered = true {
		if answered && cc.Idle() {
			lt.idleSince.Store(time.Now().UnixNano())
			// Even while retiring: its last answer did not say
			// Connection: close, so its client may be sending again
			// (retire closes it once quiet).
			lt.state.Store(laneIdle)
		}
		res := cc.Next()
		if !lt.state.CompareAndSwap(laneIdle, laneActive) && lt.state.Load() == laneClosed {
			return proxy.NextEnded // a retire closed it while idle
		}
		if res != proxy.NextRequest {
			return res
		}
		if !t.d.serveLane(cc, sni) {
			return proxy.NextEnded
		}
	}
}

// serveLane answers one request the lane read, as serveTLS would, and
// reports whether the connection stays open.
func (d *door) serveLane(cc *proxy.ClientConn, sni string) bool {
	host := normHost(cc.Host())
	if sni != "" && !strings.EqualFold(sni, host) {
		return cc.Answer(http.StatusMisdirectedRequest, bodyMisdirected)
	}
	path, ok := cc.Path()
	if !ok {
		return cc.Answer(http.StatusBadRequest, "berth: malformed request path\n")
	}
	hr, ok := d.table.Load().lookup(host, path)
	if !ok || hr.mode == tlsOff {
		return cc.Answer(http.StatusMisdirectedRequest, bodyMisdirected)
	}
	c := d.hosts.get(host)
	c.requests.Add(1)
	status, keep := cc.Forward(hr.p)
	if status >= 500 {
		c.errors.Add(1)
	}
	return keep
}

// retire has every connection close after its answer under way, and
// closes each idle one once it has been quiet for proxy.RetireQuiet (a
// request may be on its way on one idle for less: it gets an answer
// saying Connection: close instead). The listener is closed already.
func (t *tlsLanes) retire() {
	t.retiring.Store(true)
	go func() {
		for t.closeQuiet(time.Now()) {
			time.Sleep(10 * time.Millisecond)
		}
	}()
}

// closeQuiet closes the idle connections quiet for proxy.RetireQuiet
// and reports whether any connection is left.
func (t *tlsLanes) closeQuiet(now time.Time) (left bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for lt := range t.conns {
		quiet := now.Sub(time.Unix(0, lt.idleSince.Load())) >= proxy.RetireQuiet
		if quiet && lt.state.CompareAndSwap(laneIdle, laneClosed) {
			lt.c.Close()
		}
	}
	return len(t.conns) > 0
}

// wait waits until every lane connection ended, or ctx ends.
func (t *tlsLanes) wait(ctx context.Context) {
	c := make(chan struct{})
	go func() { t.wg.Wait(); close(c) }()
	select {
	case <-c:
	case <-ctx.Done():
	}
}

// close closes the listener and every lane connection; the goroutines of
// requests under way end when their answer fails to reach the client.
func (t *tlsLanes) close() {
	t.ln.Close()
	t.queue.Close()
	t.mu.Lock()
	conns := t.conns
	t.conns = nil
	t.mu.Unlock()
	for lt := range conns {
		lt.state.Store(laneClosed)
		lt.c.Close()
	}
}

// looksLikeHTTP reports whether a TLS record header is the start of a
// plain HTTP request, as net/http checks.
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}
