package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Answers the proxy gives itself. They say who answered and what to do,
// because a bare 503 from a proxy is hard to debug.
const (
	bodyNoTarget = "berth: this app has no live instance right now (nothing deployed, or it was stopped)\n"
	bodyPaused   = "berth: this app is pausing new requests during a deploy step; retry shortly\n"
	bodyHeld     = "berth: this app held the request during a deploy step for too long; retry shortly\n"
	bodyBadGw    = "berth: the app's instance did not answer (connection failed)\n"
	bodyTimeout  = "berth: the app's instance did not answer within the request timeout\n"
)

// newServer builds the net/http server for the connections the lane hands
// over: HTTP/2 cleartext, upgrades, request bodies, malformed requests.
func (p *Proxy) newServer() *http.Server {
	var protos http.Protocols
	protos.SetHTTP1(true)
	// h2c with prior knowledge needs no x/net wrapper any more;
	// ServeHTTP takes Upgrade: h2c itself (h2c.go).
	protos.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:           p,
		Protocols:         &protos,
		ReadHeaderTimeout: laneHeaderTimeout, // slow-loris bound
		IdleTimeout:       laneIdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		// OPTIONS * belongs to the app, not to the proxy.
		DisableGeneralOptionsHandler: true,
	}
}

// bufPool holds copy buffers for response bodies; sync.Pool is per-P, so
// it costs no lock on the request path.
type bufPool struct{ pool sync.Pool }

func (b *bufPool) get() *[]byte {
	if v, ok := b.pool.Get().(*[]byte); ok {
		return v
	}
	buf := make([]byte, 32<<10)
	return &buf
}

func (b *bufPool) put(buf *[]byte) { b.pool.Put(buf) }

// ServeHTTP forwards one request to the live target. It is the proxy's
// http.Handler and is safe for concurrent use.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.active.Add(1)
	defer p.active.Add(-1)
	if r.ProtoMajor == 1 {
		// Before admit and acquire: the upgrade itself sends nothing to
		// a target, and each request of the upgraded connection, this
		// one first, comes back here.
		if settings, ok := h2cSettings(r); ok && p.serveH2C(w, r, settings) {
			return
		}
	}
	if a := p.admit(r.Context()); a != admitted {
		refuse(w, a == heldTooLong)
		return
	}
	pn := pinNone
	if v, ok := r.Header[CanaryHeader]; ok {
		if len(v) > 0 {
			pn = pinOf(v[0])
		}
		delete(r.Header, CanaryHeader)
	}
	rt := p.acquire(pn)
	if rt == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, bodyNoTarget)
		return
	}
	defer func() { rt.release() }() // forward may move it to the fallback
	start := time.Now()
	if isExtendedConnect(r) {
		p.connectWebSocket(w, r, rt, start)
		return
	}
	if up := upgradeType(r.Header); up != "" {
		p.tunnel(w, r, rt, up, start)
		return
	}
	if fastEligible(r) && !wantsEarlyHints(r) {
		p.forwardFast(w, r, &rt, start)
		return
	}
	p.forward(w, r, &rt, start)
}

// refuse answers a paused request. held says it waited and timed out.
func refuse(w http.ResponseWriter, held bool) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Retry-After", "2")
	w.WriteHeader(http.StatusServiceUnavailable)
	if held {
		io.WriteString(w, bodyHeld)
		return
	}
	io.WriteString(w, bodyPaused)
}

// outRequest builds the backend request as a shallow copy of r: the body
// and header are passed through, not cloned.
func outRequest(ctx context.Context, r *http.Request, addr string, upgrade string) *http.Request {
	out := r.WithContext(ctx)
	out.URL = &url.URL{
		Scheme:   "http",
		Host:     addr,
		Path:     r.URL.Path,
		RawPath:  r.URL.RawPath,
		RawQuery: r.URL.RawQuery,
	}
	out.RequestURI = ""
	out.Close = false
	// The backend hop is always HTTP/1.1, whatever the client spoke.
	out.Proto, out.ProtoMajor, out.ProtoMinor = "HTTP/1.1", 1, 1
	if r.ContentLength == 0 {
		out.Body = nil // lets the transport replay it on a stale connection
	}
	prepareOutHeader(out, upgrade)
	return out
}

// replayable reports whether resending r cannot repeat a side effect or
// lose a body: safe methods without a body.
func replayable(r *http.Request) bool {
	if r.Body != nil && r.Body != http.NoBody {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// isDialError reports an error from connecting, where nothing was sent
// and any request can be retried.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// keepOpen passes a request body through but not its Close.
type keepOpen struct{ io.ReadCloser }

func (keepOpen) Close() error { return nil }

// roundTrip sends out on a pooled connection and, if that fails before any
// response arrived, once more on a fresh connection, unless a Drain cut
// the target or the request's own context ended.
func (p *Proxy) roundTrip(ctx context.Context, b *backend, out *http.Request) (*http.Response, error) {
	gen := b.cuts.Load()
	resp, err := b.pooled.RoundTrip(out)
	if err == nil {
		return resp, nil
	}
	if ctx.Err() != nil {
		return nil, err
	}
	b.stats.connErrors.Add(1)
	if b.cuts.Load() != gen || !(replayable(out) || (out.Body == nil && isDialError(err))) {
		return nil, err
	}
	resp, err = b.fresh.RoundTrip(out)
	if err != nil && ctx.Err() == nil {
		b.stats.connErrors.Add(1)
	}
	return resp, err
}

// forward sends r through the Transport and copies the answer back. A
// failed dial moves the request to the fallback: *rtp becomes its route.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, rtp **route, start time.Time) {
	rt := *rtp
	ctx := r.Context()
	if p.cfg.RequestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.RequestTimeout)
		defer cancel()
	}
	in := newInformer(w, r)
	ctx = httptrace.WithClientTrace(ctx, &in.trace)
	out := outRequest(ctx, r, rt.target.Addr, "")
	// r.Body stays as it is: net/http looks at its type after the
	// handler to decide whether the connection can be reused.
	var body *checkedBody
	if out.Body != nil && out.Body != http.NoBody {
		var err error
		if body, err = checkBody(r); err != nil {
			refuseMalformed(w) // or the client left
			return
		}
		out.Body = body
	}
	out.Body = in.gate(out.Body, ctx.Done())
	if out.Body != nil && p.prev.Load() != nil {
		// The Transport closes the body of a request it could not send;
		// the fallback must still get it. The server closes r.Body.
		out.Body = keepOpen{out.Body}
	}
	resp, err := p.roundTrip(ctx, rt.b, out)
	if err != nil && ctx.Err() == nil && isDialError(err) {
		if fb := p.fallback(rt); fb != nil {
			*rtp, rt = fb, fb
			out.URL.Host = fb.target.Addr
			resp, err = p.roundTrip(ctx, fb.b, out)
		}
	}
	in.finish()
	if err != nil {
		if body != nil && body.malformed {
			refuseMalformed(w)
			return
		}
		p.failed(w, r, rt, err, start)
		return
	}
	defer resp.Body.Close()

	copyResponseHeader(w.Header(), resp)
	w.WriteHeader(resp.StatusCode)
	rt.b.stats.observe(resp.StatusCode, time.Since(start))

	stream := resp.ContentLength < 0 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	if err := p.copyBody(w, resp.Body, stream); err != nil {
		// Headers are out; the only honest signal left is to break the
		// client connection (or reset the HTTP/2 stream).
		panic(http.ErrAbortHandler)
	}
	for k, vv := range resp.Trailer {
		w.Header()[http.TrailerPrefix+k] = vv
	}
}

// failed answers a request whose backend round trip failed.
func (p *Proxy) failed(w http.ResponseWriter, r *http.Request, rt *route, err error, start time.Time) {
	if r.Context().Err() != nil {
		return // the client left; nobody to answer
	}
	status, body := http.StatusBadGateway, bodyBadGw
	if errors.Is(err, context.DeadlineExceeded) {
		status, body = http.StatusGatewayTimeout, bodyTimeout
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, body)
	rt.b.stats.observe(status, time.Since(start))
}

// copyBody copies a response body, flushing after every read for streams
// so each SSE event reaches the client when the app sends it.
func (p *Proxy) copyBody(w http.ResponseWriter, body io.Reader, stream bool) error {
	var rc *http.ResponseController
	if stream {
		rc = http.NewResponseController(w)
		if err := rc.Flush(); err != nil {
			return err
		}
	}
	bp := p.bufs.get()
	defer p.bufs.put(bp)
	buf := *bp
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			if rc != nil {
				if err := rc.Flush(); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// forwardFast is forward for fastEligible requests.
// A failed dial moves the request to the fallback: *rtp becomes its route.
func (p *Proxy) forwardFast(w http.ResponseWriter, r *http.Request, rtp **route, start time.Time) {
	ctx := r.Context()
	if p.cfg.RequestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.RequestTimeout)
		defer cancel()
	}
	prepareFastHeader(r)
	q := fastReqOf(r)
	if r.ProtoAtLeast(1, 1) {
		q.early = handlerEarly{w}
	}
	pc, resp, stop, err := p.sendFast(ctx, rtp, &q)
	rt := *rtp
	b := rt.b
	if err != nil {
		p.failed(w, r, rt, err, start)
		return
	}
	if resp == nil {
		// The common answer, parsed by readSimple: the header is in
		// pc.kv and the body, pc.clen bytes, waits in pc.br.
		pc.fillHeader(w.Header())
		w.WriteHeader(pc.status)
		b.stats.observe(pc.status, time.Since(start))
		cerr := pc.copyBody(w)
		b.release(ctx, pc, stop, cerr == nil)
		if cerr != nil {
			panic(http.ErrAbortHandler)
		}
		return
	}
	copyResponseHeader(w.Header(), resp)
	w.WriteHeader(resp.StatusCode)
	b.stats.observe(resp.StatusCode, time.Since(start))
	stream := resp.ContentLength < 0 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	cerr := p.copyBody(w, resp.Body, stream)
	b.release(ctx, pc, stop, cerr == nil && !resp.Close)
	if cerr != nil {
		panic(http.ErrAbortHandler)
	}
	for k, vv := range resp.Trailer {
		w.Header()[http.TrailerPrefix+k] = vv
	}
}
