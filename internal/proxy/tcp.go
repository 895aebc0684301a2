package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"time"
)

// accept accepts connections until the listener closes and runs serve
// on each in its own goroutine, counted in p.wg.
func (p *Proxy) accept(serve func(net.Conn)) error {
	defer p.wg.Done()
	var backoff time.Duration
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Running out of file descriptors is temporary: back off
			// instead of spinning or giving up.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			p.log.Warn("proxy accept failed", "addr", p.ln.Addr(), "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
				continue
			case <-p.closed:
				return nil
			}
		}
		backoff = 0
		p.wg.Add(1)
		go serve(c)
	}
}

// serveTCP binds c to the target live when it arrives, for its whole life.
func (p *Proxy) serveTCP(c net.Conn) {
	defer p.wg.Done()
	defer c.Close()
	ctx := p.base
	if p.admit(ctx) != admitted {
		return
	}
	rt := p.acquire(pinNone)
	if rt == nil {
		return
	}
	defer func() { rt.release() }() // the dial may move it to the fallback
	// Track the client first, so a Drain that cuts during the dial still
	// closes it.
	client := rt.b.streams.track(c)
	defer func() { client.Close() }()

	start := time.Now()
	back, err := p.dialTCP(ctx, rt)
	if err != nil && ctx.Err() == nil {
		// Nothing reached the target: the fallback can take the connection.
		if fb := p.fallback(rt); fb != nil {
			rt = fb
			client.untrack()
			client = fb.b.streams.track(c)
			back, err = p.dialTCP(ctx, rt)
		}
	}
	if err != nil {
		return
	}
	defer back.Close()
	rt.b.stats.latency[bucketOf(int64(time.Since(start)))].Add(1)
	pipeTCP(c, back.Conn)
}

// dialTCP connects to the target, once more if the first try fails (the
// backend may be restarting its listener), counting failures.
func (p *Proxy) dialTCP(ctx context.Context, rt *route) (*trackedConn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	var err error
	for range 2 {
		var c net.Conn
		c, err = d.DialContext(ctx, "tcp", rt.target.Addr)
		if err == nil {
			return rt.b.upstream.track(c), nil
		}
		rt.b.stats.connErrors.Add(1)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

// pipeTCP copies both ways until both directions end. A clean EOF on one
// side half-closes the other, so request/response protocols that shut
// down their write side still get their answer; an error closes both.
// Copying between the raw *net.TCPConn values lets io.Copy use splice.
func pipeTCP(a, b net.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		oneWay(b, a)
	}()
	oneWay(a, b)
	<-done
}

func oneWay(dst, src net.Conn) {
	_, err := io.Copy(dst, src)
	if err == nil {
		err = closeWrite(dst)
	}
	if err != nil {
		dst.Close()
		src.Close()
	}
}
