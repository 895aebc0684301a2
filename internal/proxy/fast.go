package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// The fast path forwards the common request, a bodyless GET/HEAD/OPTIONS
// from an HTTP/1 or HTTP/2 client, over the proxy's own pool of backend connections
// instead of net/http's Transport. The Transport hands every request
// between three goroutines (caller, write loop, read loop); here the
// handler goroutine, or the lane's connection goroutine (lane.go), writes
// the request and reads the answer itself, which roughly halves the
// proxy's CPU per request. Everything else (bodies, upgrades, browser
// navigations on net/http's connections, for their 1xx) takes the
// Transport path. Such requests are safe to resend, so a failed pooled
// connection is simply retried once on a fresh one. The event loops
// (loop.go) share the request writing (appendRequest) and the answer
// parsing (parseSimple) but not the pool: theirs hold raw sockets.

// pconn is one keep-alive connection to a backend.
type pconn struct {
	addr string
	c    net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer

	// raw and peek look for bytes that arrived while pc sat in the pool
	// (pending, set by peek); idleSince is when it went there.
	raw       syscall.RawConn
	peek      func(fd uintptr)
	pending   bool
	idleSince time.Time

	// The last answer readSimple parsed. The strings of kv point into
	// br's buffer: they are valid until the next read from c.
	status int
	clen   int64
	nkv    int
	kv     [maxSimpleHeaders]headerField
}

type headerField struct{ k, v string }

// maxSimpleHeaders bounds the header fields readSimple handles itself;
// longer headers take http.ReadResponse.
const maxSimpleHeaders = 32

func fastEligible(r *http.Request) bool {
	if r.ContentLength != 0 || len(r.RequestURI) == 0 || r.RequestURI[0] != '/' {
		return false
	}
	switch r.ProtoMajor {
	case 1:
		if r.Body != nil && r.Body != http.NoBody {
			return false
		}
	case 2:
		// An HTTP/2 request always has a Body; ContentLength 0 means the
		// stream ended with its HEADERS or declared 0 bytes, which the
		// server enforces. Sparing it the Transport's two goroutines per
		// request roughly doubled the door's HTTP/2 rate.
	default:
		return false
	}
	if _, ok := r.Header["Expect"]; ok {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// fastReq is what the fast path needs of a request, from net/http (h
// set) or from the lane (kv set). Hop-by-hop fields are already gone.
type fastReq struct {
	method, uri, host string
	ip                string // the client's address, for X-Forwarded-For
	https             bool
	h                 http.Header   // net/http's request header, or nil
	kv                []headerField // the lane's header fields, or nil
	xff               []string      // X-Forwarded-For values the client sent
	// early gets the backend's 1xx answers for the client; nil drops them.
	early earlyWriter
	// closeOnly says ctx ends only by its deadline or by the proxy's
	// Close, which cuts every backend connection itself: the exchange
	// then sets the deadline and needs no watch of its own.
	closeOnly bool
}

func fastReqOf(r *http.Request) fastReq {
	return fastReq{
		method: r.Method, uri: r.RequestURI, host: r.Host, ip: clientIP(r.RemoteAddr),
		https: r.TLS != nil, h: r.Header, xff: r.Header["X-Forwarded-For"],
	}
}

// sendFast sends q to *rtp's target and reads the response header, once
// more on a fresh connection if a pooled one failed, unless a Drain cut
// the target meanwhile. If the target's dial failed, q goes to the
// fallback target and *rtp becomes its route (fallback.go). The results
// are exchange's.
func (p *Proxy) sendFast(ctx context.Context, rtp **route, q *fastReq) (*pconn, *http.Response, func() bool, error) {
	rt := *rtp
	b := rt.b
	gen := b.cuts.Load()
	pc, resp, stop, err := p.exchange(ctx, b, rt.target.Addr, q, false)
	// A deadline error is ours (the request timeout), not the backend's.
	if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
		b.stats.connErrors.Add(1)
		if b.cuts.Load() == gen {
			pc, resp, stop, err = p.exchange(ctx, b, rt.target.Addr, q, true)
			if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
				b.stats.connErrors.Add(1)
			}
		}
		if err != nil && ctx.Err() == nil && isDialError(err) {
			if fb := p.fallback(rt); fb != nil {
				*rtp = fb
				pc, resp, stop, err = p.exchange(ctx, fb.b, fb.target.Addr, q, false)
				if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
					fb.b.stats.connErrors.Add(1)
				}
			}
		}
	}
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return pc, resp, stop, err
}

// release returns pc to the pool after a complete answer, or closes it.
func (b *backend) release(ctx context.Context, pc *pconn, stop func() bool, reusable bool) {
	if !stop() || !reusable {
		pc.c.Close()
		return
	}
	if _, ok := ctx.Deadline(); ok {
		pc.c.SetDeadline(time.Time{})
	}
	b.putConn(pc)
}

// exchange sends q on one connection and reads the response header. On
// error the connection is closed. A nil response with a nil error means
// readSimple parsed the answer into pc. The returned stop ends the
// context watch started here, which also covers the body copy.
func (p *Proxy) exchange(ctx context.Context, b *backend, addr string, q *fastReq, fresh bool) (*pconn, *http.Response, func() bool, error) {
	pc, err := b.getConn(ctx, addr, fresh)
	if err != nil {
		return nil, nil, nil, err
	}
	stop := watch(ctx, pc, q.closeOnly)
	resp, err := roundTripOn(pc, q)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		stop()
		pc.c.Close()
		return nil, nil, nil, err
	}
	return pc, resp, stop, nil
}

// watch applies ctx to the connection: its deadline, and its
// cancellation (the client left, or a timeout fired) by expiring the
// connection's deadline. The returned stop reports false if ctx ended.
// With closeOnly only the deadline needs applying, which saves the
// allocations of a context.AfterFunc per request.
func watch(ctx context.Context, pc *pconn, closeOnly bool) func() bool {
	if ctx.Done() == nil {
		return neverStopped
	}
	if dl, ok := ctx.Deadline(); ok {
		pc.c.SetDeadline(dl)
	}
	if closeOnly {
		return neverStopped
	}
	return context.AfterFunc(ctx, func() { pc.c.SetDeadline(time.Unix(1, 0)) })
}

func neverStopped() bool { return true }

func roundTripOn(pc *pconn, q *fastReq) (*http.Response, error) {
	if err := writeRequest(pc.bw, q); err != nil {
		return nil, err
	}
	return pc.readResponse(q.method, q.early)
}

// earlyWriter passes a backend's 1xx answers (but 101) on to the client.
type earlyWriter interface {
	writeEarly(resp *http.Response) error
}

// readResponse reads the answer to a request sent on pc: into pc when
// readSimple parses it (nil response), else with http.ReadResponse. 1xx
// answers before it go to early, if not nil.
func (pc *pconn) readResponse(method string, early earlyWriter) (*http.Response, error) {
	var r *http.Request // only ReadResponse needs one
	for {
		ok, err := pc.readSimple(method)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, context.DeadlineExceeded
			}
			return nil, err
		}
		if ok {
			return nil, nil
		}
		if r == nil {
			r = &http.Request{Method: method}
		}
		resp, err := http.ReadResponse(pc.br, r)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, context.DeadlineExceeded
			}
			return nil, err
		}
		// 1xx informational answers precede the real one.
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
		if early != nil {
			if err := early.writeEarly(resp); err != nil {
				return nil, err
			}
		}
	}
}

// writeRequest writes the request line and header; fast-path requests
// have no body. The server or the lane already validated the header.
func writeRequest(bw *bufio.Writer, q *fastReq) error {
	bw.Write(appendRequest(bw.AvailableBuffer(), q))
	return bw.Flush()
}

// appendRequest appends q's request line and header. Hop-by-hop fields
// are gone; the X-Forwarded ones are written here rather than stored in
// the header, which saves their allocations.
func appendRequest(out []byte, q *fastReq) []byte {
	out = append(out, q.method...)
	out = append(out, ' ')
	out = append(out, q.uri...)
	out = append(out, " HTTP/1.1\r\nHost: "...)
	out = append(out, q.host...)
	out = append(out, "\r\n"...)
	for k, vv := range q.h {
		switch k {
		case "Host", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded":
			continue
		}
		for _, v := range vv {
			if v == "" && k == "User-Agent" {
				continue
			}
			out = appendField(out, k, v)
		}
	}
	for _, f := range q.kv {
		out = appendField(out, f.k, f.v)
	}
	out = append(out, "X-Forwarded-For: "...)
	for _, v := range q.xff {
		out = append(out, v...)
		out = append(out, ", "...)
	}
	out = append(out, q.ip...)
	if q.https {
		out = append(out, "\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: "...)
	} else {
		out = append(out, "\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: "...)
	}
	out = append(out, q.host...)
	return append(out, "\r\n\r\n"...)
}

// readSimple parses the common answer itself: HTTP/1.1, a final status
// with a body, a Content-Length, no Transfer-Encoding, Connection or
// Trailer, not an event stream, header in one buffer. It reports false,
// having consumed nothing, for anything else, which http.ReadResponse
// then reads. On true the header is consumed and recorded in pc.
func (pc *pconn) readSimple(method string) (bool, error) {
	br := pc.br
	if br.Buffered() == 0 {
		if _, err := br.Peek(1); err != nil {
			return false, err
		}
	}
	var buf []byte
	end := -1
	for {
		buf, _ = br.Peek(br.Buffered())
		if end = bytes.Index(buf, crlfcrlf); end >= 0 {
			break
		}
		if len(buf) >= br.Size() {
			return false, nil // a long header: leave it to ReadResponse
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			return false, err
		}
	}
	if method == http.MethodHead {
		return false, nil
	}
	status, clen, n, ok := parseSimple(buf[:end+2], &pc.kv)
	if !ok {
		return false, nil
	}
	br.Discard(end + 4)
	pc.status, pc.clen, pc.nkv = status, clen, n
	return true, nil
}

// parseSimple parses blk, a response's status line and fields each
// ending in CRLF, into kv if it is a simple answer as readSimple
// describes. The strings of kv point into blk.
func parseSimple(blk []byte, kv *[maxSimpleHeaders]headerField) (status int, clen int64, n int, ok bool) {
	// Status line: "HTTP/1.1 200 OK".
	nl := bytes.IndexByte(blk, '\n')
	line := blk[:nl]
	if len(line) < 13 || string(line[:9]) != "HTTP/1.1 " || line[len(line)-1] != '\r' {
		return 0, 0, 0, false
	}
	line = line[:len(line)-1]
	if len(line) > 12 && line[12] != ' ' {
		return 0, 0, 0, false
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, 0, 0, false
		}
		status = status*10 + int(c-'0')
	}
	if status < 200 || status == http.StatusNoContent || status == http.StatusNotModified {
		return 0, 0, 0, false
	}
	s := unsafe.String(unsafe.SliceData(blk[nl+1:]), len(blk)-nl-1)
	clen = -1
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 1 || s[i-1] != '\r' {
			return 0, 0, 0, false
		}
		line, rest := s[:i-1], s[i+1:]
		s = rest
		c := strings.IndexByte(line, ':')
		if c <= 0 || n == maxSimpleHeaders {
			return 0, 0, 0, false
		}
		k := line[:c]
		for j := 0; j < len(k); j++ {
			if !isTokenByte(k[j]) {
				return 0, 0, 0, false // also catches obs-fold lines
			}
		}
		v := textproto.TrimString(line[c+1:])
		for j := 0; j < len(v); j++ {
			if b := v[j]; (b < ' ' && b != '\t') || b == 0x7f {
				return 0, 0, 0, false
			}
		}
		k = textproto.CanonicalMIMEHeaderKey(k)
		switch k {
		case "Content-Length":
			if clen >= 0 || v == "" || len(v) > 18 {
				return 0, 0, 0, false
			}
			var x int64
			for j := 0; j < len(v); j++ {
				if v[j] < '0' || v[j] > '9' {
					return 0, 0, 0, false
				}
				x = x*10 + int64(v[j]-'0')
			}
			clen = x
		case "Transfer-Encoding", "Connection", "Trailer", "Upgrade", "Proxy-Connection":
			return 0, 0, 0, false
		case "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te":
			continue // hop-by-hop
		case "Content-Type":
			if strings.HasPrefix(v, "text/event-stream") {
				return 0, 0, 0, false
			}
		}
		kv[n] = headerField{k, v}
		n++
	}
	if clen < 0 {
		clear(kv[:n])
		return 0, 0, 0, false
	}
	return status, clen, n, true
}

var crlfcrlf = []byte("\r\n\r\n")

func isTokenByte(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// fillHeader puts copies of the fields readSimple recorded into h, which
// outlives pc's buffer.
func (pc *pconn) fillHeader(h http.Header) {
	n := 0
	for _, f := range pc.kv[:pc.nkv] {
		n += len(f.k) + len(f.v)
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, f := range pc.kv[:pc.nkv] {
		sb.WriteString(f.k)
		sb.WriteString(f.v)
	}
	all := sb.String() // one allocation holds every key and value
	vals := make([]string, pc.nkv)
	for i := range pc.nkv {
		f := &pc.kv[i]
		f.k, all = all[:len(f.k)], all[len(f.k):]
		f.v, all = all[:len(f.v)], all[len(f.v):]
		vals[i] = f.v
		if prior, ok := h[f.k]; ok {
			h[f.k] = append(prior, f.v)
		} else {
			h[f.k] = vals[i : i+1 : i+1]
		}
		*f = headerField{}
	}
}

// copyBody sends the pc.clen body bytes readSimple left in pc.br to w,
// straight from the read buffer.
func (pc *pconn) copyBody(w io.Writer) error {
	br := pc.br
	for left := pc.clen; left > 0; {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
		}
		n := min(int64(br.Buffered()), left)
		b, _ := br.Peek(int(n))
		if _, err := w.Write(b); err != nil {
			return err
		}
		br.Discard(int(n))
		left -= n
	}
	return nil
}
