package proxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// sendUpgrade sends out, an upgrade request for r, and returns the app's
// 101 answer and its side of the switched connection. If the app declines
// the upgrade, its answer went to w as an ordinary response; if the
// exchange failed, w got the proxy's own answer. Either way the
// connection is nil.
func (p *Proxy) sendUpgrade(w http.ResponseWriter, r *http.Request, rt *route, out *http.Request, start time.Time) (*http.Response, io.ReadWriteCloser) {
	resp, err := p.roundTrip(r.Context(), rt.b, out)
	if err != nil {
		p.failed(w, r, rt, err, start)
		return nil, nil
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		copyResponseHeader(w.Header(), resp)
		w.WriteHeader(resp.StatusCode)
		rt.b.stats.observe(resp.StatusCode, time.Since(start))
		if err := p.copyBody(w, resp.Body, false); err != nil {
			panic(http.ErrAbortHandler)
		}
		return nil, nil
	}
	back, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		p.failed(w, r, rt, errNoUpgradeBody, start)
		return nil, nil
	}
	return resp, back
}

// tunnel forwards an Upgrade request (WebSocket and the like). When the
// backend agrees with 101, the client connection is hijacked and bytes
// are copied both ways until either side closes; the tunnel counts as in
// flight on its target for Drain until then.
func (p *Proxy) tunnel(w http.ResponseWriter, r *http.Request, rt *route, up string, start time.Time) {
	out := outRequest(r.Context(), r, rt.target.Addr, up)
	resp, backConn := p.sendUpgrade(w, r, rt, out, start)
	if backConn == nil {
		return
	}
	defer resp.Body.Close()
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 clients cannot be hijacked; they cannot send Upgrade either.
		p.failed(w, r, rt, err, start)
		return
	}
	uncheck(conn)
	client := rt.b.streams.track(conn)
	defer client.Close()
	rt.b.stats.observe(resp.StatusCode, time.Since(start))

	upType := resp.Header.Get("Upgrade")
	copyResponseHeader(make(http.Header), resp) // strips hop headers from resp
	resp.Header["Connection"] = []string{"Upgrade"}
	resp.Header["Upgrade"] = []string{upType}
	if err := writeSwitching(brw.Writer, resp.Header); err != nil {
		return
	}
	splice(client, brw.Reader, backConn)
}

// uncheck stops the request checks on a hijacked connection, which
// carries another protocol from now on.
func uncheck(c net.Conn) {
	switch g := c.(type) {
	case *guardedConn:
		g.opaque()
	case *tlsGuardedConn:
		g.opaque()
	}
}

// errNoUpgradeBody is a transport that gave a 101 without a usable
// connection; it should not happen with net/http.
var errNoUpgradeBody = errors.New("backend switched protocols without a connection")

func writeSwitching(w *bufio.Writer, h http.Header) error {
	if _, err := w.WriteString("HTTP/1.1 101 Switching Protocols\r\n"); err != nil {
		return err
	}
	if err := h.Write(w); err != nil {
		return err
	}
	if _, err := w.WriteString("\r\n"); err != nil {
		return err
	}
	return w.Flush()
}

// splice copies client→backend and backend→client until both directions
// end. An error on either side closes both, so neither copy can hang.
func splice(client net.Conn, clientBuf io.Reader, back io.ReadWriteCloser) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The client's bufio reader may hold bytes already read, and
		// reads straight from the connection once it is empty.
		_, err := io.Copy(back, clientBuf)
		if err != nil || closeWrite(back) != nil {
			back.Close()
			client.Close()
		}
	}()
	_, err := io.Copy(client, back)
	if err != nil || closeWrite(client) != nil {
		back.Close()
		client.Close()
	}
	<-done
	back.Close()
}

// closeWrite half-closes c if it can; otherwise it closes it.
func closeWrite(c any) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	if cl, ok := c.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}
