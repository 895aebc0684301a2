package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// handle forwards one simple request and answers it the way ServeHTTP
// and forwardFast would. It reports whether the connection stays open.
func (lc *laneConn) handle(q *laneReq) bool {
	p := lc.p
	if a := p.admit(lc.ctx); a != admitted {
		body := bodyPaused
		if a == heldTooLong {
			body = bodyHeld
		}
		return lc.answer(&q.answerTo, http.StatusServiceUnavailable, body, true)
	}
	rt := p.acquire(q.pin)
	if rt == nil {
		return lc.answer(&q.answerTo, http.StatusServiceUnavailable, bodyNoTarget, false)
	}
	start := time.Now()
	ctx, cancel := lc.requestContext(start)
	defer cancel()
	// lc.ctx ends only when the proxy closes.
	fq := fastReq{method: q.method, uri: q.uri, host: q.host, ip: lc.ip, https: lc.https, kv: q.kv[:q.nkv], xff: q.xff, closeOnly: true}
	if !q.http10 { // RFC 9110 section 15.2: no 1xx for HTTP/1.0
		fq.early = lc
	}
	pc, resp, stop, err := p.sendFast(ctx, &rt, &fq)
	clear(q.kv[:q.nkv])
	return lc.respond(ctx, &q.answerTo, rt, pc, resp, stop, err, start)
}

// requestContext bounds a request that started at start by the request
// timeout, if there is one.
func (lc *laneConn) requestContext(start time.Time) (context.Context, context.CancelFunc) {
	if t := lc.p.cfg.RequestTimeout; t > 0 {
		return context.WithDeadline(lc.ctx, start.Add(t))
	}
	return lc.ctx, func() {}
}

// respond answers the client once the exchange with the target ended:
// with the answer read into pc or resp, or with the proxy's own answer
// for err. It owns rt's count in flight.
func (lc *laneConn) respond(ctx context.Context, q *answerTo, rt *route, pc *pconn, resp *http.Response, stop func() bool, err error, start time.Time) bool {
	if err != nil {
		if lc.ctx.Err() != nil {
			rt.release()
			return false // the proxy is closing
		}
		status, body := http.StatusBadGateway, bodyBadGw
		if errors.Is(err, context.DeadlineExceeded) {
			status, body = http.StatusGatewayTimeout, bodyTimeout
		}
		rt.b.stats.observe(status, time.Since(start))
		rt.release()
		return lc.answer(q, status, body, false)
	}
	if resp == nil {
		lc.status = pc.status
		rt.b.stats.observe(pc.status, time.Since(start))
		return lc.answerSimple(ctx, q, rt, pc, stop)
	}
	lc.status = resp.StatusCode
	rt.b.stats.observe(resp.StatusCode, time.Since(start))
	defer rt.release()
	return lc.answerResponse(ctx, q, rt, pc, resp, stop)
}

// draining makes q's answer the connection's last while its server
// retires.
func (lc *laneConn) draining(q *answerTo) {
	if lc.drain != nil && lc.drain.Load() {
		q.close = true
	}
}

// writeEarly sends the client a 1xx answer, such as 103 Early Hints,
// ahead of the final one.
func (lc *laneConn) writeEarly(resp *http.Response) error {
	removeHopHeaders(resp.Header)
	out := appendStatus(lc.out[:0], resp.StatusCode)
	for k, vv := range resp.Header {
		for _, v := range vv {
			out = appendField(out, k, v)
		}
	}
	lc.out = append(out, "\r\n"...)
	_, err := lc.c.Write(lc.out)
	return err
}

// answer sends one of the proxy's own plain-text answers.
func (lc *laneConn) answer(q *answerTo, status int, body string, retry bool) bool {
	lc.status = status
	lc.draining(q)
	lc.out = appendAnswer(lc.out[:0], q, status, body, retry)
	_, err := lc.c.Write(lc.out)
	return err == nil && !q.close
}

// appendAnswer appends one of the proxy's own plain-text answers to q.
func appendAnswer(out []byte, q *answerTo, status int, body string, retry bool) []byte {
	out = appendStatus(out, status)
	out = append(out, "Content-Type: text/plain; charset=utf-8\r\n"...)
	if retry {
		out = append(out, "Retry-After: 2\r\n"...)
	}
	out = appendDate(out)
	out = append(out, "Content-Length: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	out = append(out, "\r\n"...)
	out = appendConnection(out, q.close, q.http10)
	if q.method != http.MethodHead {
		out = append(out, body...)
	}
	return out
}

// answerSimple sends the common answer readSimple parsed into pc: the
// header from pc.kv and pc.clen body bytes from pc.br, in one write when
// the body is already buffered. It releases rt once nothing is left to
// read from the target, before the last write, as net/http's handler
// returned before its buffered answer was flushed.
func (lc *laneConn) answerSimple(ctx context.Context, q *answerTo, rt *route, pc *pconn, stop func() bool) bool {
	lc.draining(q)
	b := rt.b
	var sniff []byte
	if pc.clen > 0 && !hasField(pc.kv[:pc.nkv], "Content-Type") {
		if pc.br.Buffered() == 0 {
			pc.br.Peek(1)
		}
		sniff, _ = pc.br.Peek(min(pc.br.Buffered(), int(min(pc.clen, 512))))
	}
	out := appendSimpleHead(lc.out[:0], pc.status, pc.kv[:pc.nkv], pc.clen, sniff, q)
	if n := pc.br.Buffered(); int64(n) >= pc.clen && len(out)+n <= laneOutMax {
		body, _ := pc.br.Peek(int(pc.clen))
		out = append(out, body...)
		pc.br.Discard(int(pc.clen))
		b.release(ctx, pc, stop, true) // before the client write: the pool gets it back sooner
		rt.release()
		lc.out = out
		_, err := lc.c.Write(out)
		return err == nil && !q.close
	}
	lc.out = out
	_, err := lc.c.Write(out)
	if err == nil {
		err = pc.copyBody(lc.c)
	}
	b.release(ctx, pc, stop, err == nil)
	rt.release()
	return err == nil && !q.close
}

// appendSimpleHead appends the header of a simple answer with fields kv
// (which it clears), adding a Date and, when the body has no type, the
// one net/http's ResponseWriter would sniff from its first bytes.
func appendSimpleHead(out []byte, status int, kv []headerField, clen int64, sniff []byte, q *answerTo) []byte {
	out = appendStatus(out, status)
	hasDate, hasType := false, false
	for i := range kv {
		f := &kv[i]
		switch f.k {
		case "Date":
			hasDate = true
		case "Content-Type":
			hasType = true
		}
		out = appendField(out, f.k, f.v)
		*f = headerField{}
	}
	if !hasDate {
		out = appendDate(out)
	}
	if !hasType && clen > 0 {
		out = appendField(out, "Content-Type", http.DetectContentType(sniff))
	}
	return appendConnection(out, q.close, q.http10)
}

func hasField(kv []headerField, k string) bool {
	for _, f := range kv {
		if f.k == k {
			return true
		}
	}
	return false
}

// answerResponse sends an answer http.ReadResponse parsed, re-framed for
// the client: its own length, chunked for an HTTP/1.1 client, or ended by
// closing the connection for an HTTP/1.0 one.
func (lc *laneConn) answerResponse(ctx context.Context, q *answerTo, rt *route, pc *pconn, resp *http.Response, stop func() bool) bool {
	lc.draining(q)
	b := rt.b
	status := resp.StatusCode
	if status == http.StatusSwitchingProtocols {
		// Nobody asked to switch: the backend is broken.
		resp.Body.Close()
		b.release(ctx, pc, stop, false)
		return lc.answer(q, http.StatusBadGateway, bodyBadGw, false)
	}
	h := make(http.Header, len(resp.Header)+2)
	copyResponseHeader(h, resp)
	bodyless := q.method == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified
	chunked := !bodyless && resp.ContentLength < 0 && !q.http10
	closeAfter := q.close || (!bodyless && resp.ContentLength < 0 && q.http10)
	if chunked {
		h.Del("Content-Length")
		h["Transfer-Encoding"] = []string{"chunked"}
	} else if !bodyless && resp.ContentLength >= 0 {
		h["Content-Length"] = []string{strconv.FormatInt(resp.ContentLength, 10)}
	}
	if _, ok := h["Date"]; !ok {
		h["Date"] = []string{time.Now().UTC().Format(http.TimeFormat)}
	}
	out := appendStatus(lc.out[:0], status)
	for k, vv := range h {
		for _, v := range vv {
			out = appendField(out, k, v)
		}
	}
	out = appendConnection(out, closeAfter, q.http10)
	lc.out = out
	if _, err := lc.c.Write(out); err != nil || bodyless {
		resp.Body.Close()
		b.release(ctx, pc, stop, err == nil && !resp.Close)
		return err == nil && !closeAfter
	}
	stream := resp.ContentLength < 0 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	if stream {
		// A stream can outlive its target: a Drain cut must reach the
		// client even while a write to it blocks.
		t := b.streams.track(lc.c)
		defer b.streams.remove(t)
	}
	err := lc.copyResponseBody(resp, chunked)
	resp.Body.Close()
	b.release(ctx, pc, stop, err == nil && !resp.Close)
	return err == nil && !closeAfter
}

// copyResponseBody copies resp's body to the client as it arrives, in
// chunks if chunked, then the trailers.
func (lc *laneConn) copyResponseBody(resp *http.Response, chunked bool) error {
	bp := lc.p.bufs.get()
	defer lc.p.bufs.put(bp)
	buf := *bp
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			data := buf[:n]
			if chunked {
				out := strconv.AppendInt(lc.out[:0], int64(n), 16)
				out = append(out, "\r\n"...)
				out = append(out, data...)
				out = append(out, "\r\n"...)
				lc.out, data = out, out
			}
			if _, err := lc.c.Write(data); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if !chunked {
		return nil
	}
	out := append(lc.out[:0], "0\r\n"...)
	for k, vv := range resp.Trailer {
		for _, v := range vv {
			out = appendField(out, k, v)
		}
	}
	out = append(out, "\r\n"...)
	lc.out = out
	_, err := lc.c.Write(out)
	return err
}

func appendStatus(out []byte, status int) []byte {
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(status), 10)
	out = append(out, ' ')
	if text := http.StatusText(status); text != "" {
		out = append(out, text...)
	} else {
		out = append(out, "status code "...)
		out = strconv.AppendInt(out, int64(status), 10)
	}
	return append(out, "\r\n"...)
}

func appendField(out []byte, k, v string) []byte {
	out = append(out, k...)
	out = append(out, ": "...)
	out = append(out, v...)
	return append(out, "\r\n"...)
}

func appendDate(out []byte) []byte {
	out = append(out, "Date: "...)
	out = time.Now().UTC().AppendFormat(out, http.TimeFormat)
	return append(out, "\r\n"...)
}

// appendConnection ends the header, saying whether the connection stays
// open where the client's protocol version would not imply it.
func appendConnection(out []byte, close, http10 bool) []byte {
	switch {
	case close:
		out = append(out, "Connection: close\r\n"...)
	case http10:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	return append(out, "\r\n"...)
}
