package proxy

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// The fast path forwards the common request, a bodyless GET/HEAD/OPTIONS
// from an HTTP/1 client, over the proxy's own pool of backend connections
// instead of net/http's Transport. The Transport hands every request
// between three goroutines (caller, write loop, read loop); here the
// handler goroutine writes the request and reads the answer itself, which
// roughly halves the proxy's CPU per request. Everything else (bodies,
// HTTP/2 clients, upgrades) takes the Transport path. Such requests are
// safe to resend, so a failed pooled connection is simply retried once
// on a fresh one.

// pconn is one keep-alive connection to a backend.
type pconn struct {
	addr string
	c    net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
}

// idleConns is the pool: a buffered channel, so taking and returning a
// connection is a non-blocking channel operation and no mutex of ours.
const idleConns = 1024

func fastEligible(r *http.Request) bool {
	if r.ProtoMajor != 1 || r.ContentLength != 0 || len(r.RequestURI) == 0 || r.RequestURI[0] != '/' {
		return false
	}
	if r.Body != nil && r.Body != http.NoBody {
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

func (b *backend) getConn(ctx context.Context, addr string, fresh bool) (*pconn, error) {
	if !fresh {
		for {
			select {
			case pc := <-b.idle:
				if pc.addr == addr {
					return pc, nil
				}
				pc.c.Close() // the target moved to another port
				continue
			default:
			}
			break
		}
	}
	c, err := b.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &pconn{addr: addr, c: c, br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 8<<10)}, nil
}

func (b *backend) putConn(pc *pconn) {
	select {
	case b.idle <- pc:
	default:
		pc.c.Close()
	}
}

// drainIdle closes every pooled fast-path connection.
func (b *backend) drainIdle() {
	for {
		select {
		case pc := <-b.idle:
			pc.c.Close()
		default:
			return
		}
	}
}

// forwardFast is forward for fastEligible requests.
func (p *Proxy) forwardFast(w http.ResponseWriter, r *http.Request, rt *route, start time.Time) {
	ctx := r.Context()
	if p.cfg.RequestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.RequestTimeout)
		defer cancel()
	}
	prepareOutHeader(r, "")
	b := rt.b
	gen := b.cuts.Load()
	pc, resp, err := p.exchange(ctx, b, rt.target.Addr, r, false)
	// A deadline error is ours (the request timeout), not the backend's.
	if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
		b.stats.connErrors.Add(1)
		if b.cuts.Load() == gen {
			pc, resp, err = p.exchange(ctx, b, rt.target.Addr, r, true)
			if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
				b.stats.connErrors.Add(1)
			}
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		p.failed(w, r, rt, err, start)
		return
	}
	stop := watch(ctx, pc)
	copyResponseHeader(w.Header(), resp)
	w.WriteHeader(resp.StatusCode)
	b.stats.observe(resp.StatusCode, time.Since(start))
	stream := resp.ContentLength < 0 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	cerr := p.copyBody(w, resp.Body, stream)
	if !stop() || cerr != nil || resp.Close {
		pc.c.Close()
	} else {
		if _, ok := ctx.Deadline(); ok {
			pc.c.SetDeadline(time.Time{})
		}
		b.putConn(pc)
	}
	if cerr != nil {
		panic(http.ErrAbortHandler)
	}
	for k, vv := range resp.Trailer {
		w.Header()[http.TrailerPrefix+k] = vv
	}
}

// exchange sends r on one connection and reads the response header. On
// error the connection is closed.
func (p *Proxy) exchange(ctx context.Context, b *backend, addr string, r *http.Request, fresh bool) (*pconn, *http.Response, error) {
	pc, err := b.getConn(ctx, addr, fresh)
	if err != nil {
		return nil, nil, err
	}
	stop := watch(ctx, pc)
	resp, err := roundTripOn(pc, r)
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		pc.c.Close()
		return nil, nil, err
	}
	return pc, resp, nil
}

// watch applies ctx to the connection: its deadline, and its
// cancellation (the client left, or a timeout fired) by expiring the
// connection's deadline. The returned stop reports false if ctx ended.
func watch(ctx context.Context, pc *pconn) func() bool {
	if dl, ok := ctx.Deadline(); ok {
		pc.c.SetDeadline(dl)
	}
	return context.AfterFunc(ctx, func() { pc.c.SetDeadline(time.Unix(1, 0)) })
}

func roundTripOn(pc *pconn, r *http.Request) (*http.Response, error) {
	if err := writeRequest(pc.bw, r); err != nil {
		return nil, err
	}
	for {
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
	}
}

// writeRequest writes the request line and header; fast-path requests
// have no body. The server already validated the header it parsed.
func writeRequest(bw *bufio.Writer, r *http.Request) error {
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(r.RequestURI)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(r.Host)
	bw.WriteString("\r\n")
	for k, vv := range r.Header {
		if k == "Host" {
			continue
		}
		for _, v := range vv {
			if v == "" && k == "User-Agent" {
				continue
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	bw.WriteString("\r\n")
	return bw.Flush()
}
