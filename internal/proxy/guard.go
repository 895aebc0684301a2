package proxy

import (
	"bytes"
	"io"
	"net"
	"slices"
	"strings"
)

// guardedConn is a client connection net/http serves, checked on its way
// in: it gives the server a request head only once the whole head passed
// checkHead, follows the body's framing to find the next head, and checks
// every chunk-size line and trailer of a chunked body. A refused head
// reaches the server as a read error after its first 4 bytes, which
// net/http answers with 400 and a close before any handler runs, so the
// app sees none of it; a refused chunk line is a read error of the
// request body. Those bytes go through first so that the error comes from
// the server's own read of the next request, never from its background
// read (1 byte) during the previous answer, which would cut that answer,
// nor from its 4-byte peek between requests, after which it closes
// without an answer.
//
// After an upgrade (WebSocket, h2c) the handler calls opaque and the bytes
// pass unchecked; so does an HTTP/2 connection, from its preface on. Like
// any net.Conn given to net/http, it is read by one goroutine at a time.
type guardedConn struct {
	net.Conn
	buf   []byte // read from Conn and not yet given to the server
	ok    int    // buf[:ok] is judged and may be given
	st    guardState
	left  int64 // bytes left of a body or of a chunk's data
	seen  int   // bytes of buf already searched for a line end
	extra int   // bytes of the current trailer section so far
	first bool  // nothing given yet: an HTTP/2 preface may come
}

type guardState int

const (
	guardHead guardState = iota
	guardBody
	guardChunkLine
	guardChunkData
	guardChunkEnd // the CRLF after a chunk's data
	guardTrailer
	guardOpaque
	guardRefused
)

const (
	// guardHeadMax is more than net/http reads of a head before it
	// answers 431 (MaxHeaderBytes plus 4 KB): a longer head is passed
	// on unjudged for net/http to refuse.
	guardHeadMax = maxHeaderBytes + 8<<10
	guardRead    = 4 << 10
)

// h2Preface starts every HTTP/2 connection with prior knowledge.
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

func newGuardedConn(c net.Conn, pre []byte) *guardedConn {
	return &guardedConn{Conn: c, buf: pre, first: true}
}

// opaque stops the checks: the connection carries another protocol now.
func (g *guardedConn) opaque() {
	g.st, g.ok = guardOpaque, 0
}

func (g *guardedConn) Read(p []byte) (int, error) {
	for {
		if g.ok > 0 || (g.st == guardOpaque && len(g.buf) > 0) {
			m := len(g.buf)
			if g.st != guardOpaque {
				m = g.ok
			}
			n := copy(p, g.buf[:m])
			g.give(n)
			return n, nil
		}
		switch g.st {
		case guardOpaque:
			return g.Conn.Read(p)
		case guardRefused:
			return 0, errMalformed
		case guardBody, guardChunkData:
			if len(g.buf) == 0 && len(p) > 0 {
				// Body bytes go straight through, uncopied.
				n, err := g.Conn.Read(p[:min(int64(len(p)), g.left)])
				g.bodyDone(int64(n))
				return n, err
			}
		}
		if g.judge() {
			continue
		}
		if err := g.fill(); err != nil {
			return 0, err
		}
	}
}

// give drops the first n bytes of buf, which went to the server.
func (g *guardedConn) give(n int) {
	g.first = false
	g.buf = g.buf[n:]
	g.ok = max(g.ok-n, 0)
	g.seen = max(g.seen-n, 0)
	if len(g.buf) == 0 {
		g.buf = nil // an idle connection keeps no buffer
	}
}

// fill reads more of the client's bytes into buf.
func (g *guardedConn) fill() error {
	if cap(g.buf)-len(g.buf) < guardRead/2 {
		g.buf = slices.Grow(g.buf, guardRead)
	}
	n, err := g.Conn.Read(g.buf[len(g.buf):cap(g.buf)])
	g.buf = g.buf[:len(g.buf)+n]
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// bodyDone counts n bytes of a body or chunk as given.
func (g *guardedConn) bodyDone(n int64) {
	g.first = false
	if g.left -= n; g.left > 0 {
		return
	}
	if g.st == guardBody {
		g.st = guardHead
	} else {
		g.st = guardChunkEnd
	}
}

// judge moves on over buffered bytes: it reports true once some may be
// given (g.ok > 0) or the state changed, false when it needs more.
func (g *guardedConn) judge() bool {
	switch g.st {
	case guardHead:
		return g.judgeHead()
	case guardBody, guardChunkData:
		n := min(int64(len(g.buf)), g.left)
		if n == 0 {
			return false
		}
		g.ok = int(n)
		g.bodyDone(n)
		return true
	case guardChunkLine, guardTrailer:
		return g.judgeLine()
	case guardChunkEnd:
		if len(g.buf) < 2 {
			return false
		}
		if g.buf[0] != '\r' || g.buf[1] != '\n' {
			return g.refuse(0)
		}
		g.ok, g.st = 2, guardChunkLine
		return true
	}
	return false
}

func (g *guardedConn) judgeHead() bool {
	if g.first && len(g.buf) > 0 && strings.HasPrefix(h2Preface, string(g.buf[:min(len(g.buf), len(h2Preface))])) {
		if len(g.buf) < len(h2Preface) {
			return false
		}
		g.opaque()
		return true
	}
	end, n := headEnd(g.buf, g.seen)
	if end < 0 {
		g.seen = max(len(g.buf)-2, 0)
		if len(g.buf) > guardHeadMax {
			g.opaque() // net/http answers 431
			return true
		}
		return false
	}
	f, err := checkHead(g.buf[:end])
	if err != nil {
		// Between requests net/http first peeks at 4 bytes and closes
		// without an answer if that fails; a head that short is
		// refused by net/http itself.
		return g.refuse(min(4, n))
	}
	g.ok, g.seen = n, n
	switch f.kind {
	case frameLength:
		g.st, g.left = guardBody, f.n
	case frameChunked:
		g.st = guardChunkLine
	case frameRefusedTE:
		g.st = guardOpaque // net/http answers 501 and closes
	}
	return true
}

// headEnd finds the empty line that ends the head at the start of b,
// searching from from. It returns where the fields end and where the
// body starts, or -1.
func headEnd(b []byte, from int) (end, body int) {
	for i := from; i < len(b); i++ {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1, 0
		}
		i += j
		switch {
		case i == 0:
		case b[i-1] == '\n':
			return i - 1, i + 1
		case b[i-1] == '\r' && i >= 2 && b[i-2] == '\n':
			return i - 2, i + 1
		}
	}
	return -1, 0
}

// judgeLine judges the next chunk-size or trailer line.
func (g *guardedConn) judgeLine() bool {
	i := bytes.IndexByte(g.buf[g.seen:], '\n')
	if i < 0 {
		g.seen = len(g.buf)
		if len(g.buf) > maxChunkLine || g.extra+len(g.buf) > guardHeadMax {
			return g.refuse(0)
		}
		return false
	}
	n := g.seen + i + 1
	line := g.buf[:n]
	g.seen = n
	if g.st == guardTrailer {
		g.extra += n
		if string(line) == "\r\n" {
			g.ok, g.st, g.extra = n, guardHead, 0
			return true
		}
		if _, _, ok := checkField(string(line[:n-1])); !ok || line[n-2] != '\r' || line[0] == ' ' || line[0] == '\t' || g.extra > guardHeadMax {
			return g.refuse(0)
		}
		g.ok = n
		return true
	}
	size, ok := checkChunkLine(line)
	if !ok {
		return g.refuse(0)
	}
	g.ok = n
	if size == 0 {
		g.st = guardTrailer
	} else {
		g.st, g.left = guardChunkData, size
	}
	return true
}

// refuse ends the checks: keep of the refused bytes may still be given,
// then every read fails.
func (g *guardedConn) refuse(keep int) bool {
	g.st, g.ok = guardRefused, keep
	return true
}

// CloseWrite lets net/http half-close as it does on a *net.TCPConn.
func (g *guardedConn) CloseWrite() error {
	if cw, ok := g.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
