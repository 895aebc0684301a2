package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// FuzzRequestFraming feeds the same bytes to the proxy's own request
// parsers and to net/http's, and fails where they disagree on something
// the proxy accepted. The lane's parser (lane_parse.go, which the event
// loops use too) may refuse anything, which hands the request to
// net/http; what it accepts, net/http's server must accept with the same
// method, target, host, fields, connection handling and no body. The
// guard in front of net/http (guard.go) may refuse anything too; every
// head it accepted must start where net/http starts a request, and every
// request net/http reads before the guard stopped must start at a head
// the guard judged, or it would have slipped past the checks.
func FuzzRequestFraming(f *testing.F) {
	for _, tc := range smuggling {
		f.Add([]byte(tc.send))
	}
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nConnection: x, close\r\nx: 1\r\nTe: trailers\r\n\r\n"))
	f.Add([]byte("POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiGET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkLaneParse(t, data)
		checkGuardFraming(t, data)
	})
}

// serverRequest reads one request as net/http's server does: ReadRequest
// plus the server's own checks of Host and the fields. It returns the
// request and the length of its head, or nil.
func serverRequest(data []byte) (*http.Request, int) {
	cr := &countReader{r: bytes.NewReader(data)}
	br := bufio.NewReader(cr)
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, 0
	}
	// The Host lines, which ReadRequest folds into req.Host.
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(data)))
	tp.ReadLine()
	mh, err := tp.ReadMIMEHeader()
	if err != nil {
		return nil, 0
	}
	hosts := mh["Host"]
	if req.ProtoAtLeast(1, 1) && len(hosts) == 0 && req.Method != "CONNECT" || len(hosts) > 1 ||
		len(hosts) == 1 && !httpguts.ValidHostHeader(hosts[0]) {
		return nil, 0
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return nil, 0
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, 0
			}
		}
	}
	return req, cr.n - br.Buffered()
}

type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func checkLaneParse(t *testing.T, data []byte) {
	end := bytes.Index(data, crlfcrlf)
	if end < 0 || end+4 > laneReadBuffer || hasBareLF(data[:end+4]) {
		return // readHead gives the lane no such head
	}
	var q laneReq
	if !q.parse(data[:end+4]) {
		return
	}
	req, n := serverRequest(data)
	if req == nil {
		t.Fatalf("lane accepts %q, net/http refuses it", data[:end+4])
	}
	if n != end+4 || req.ContentLength != 0 || len(req.TransferEncoding) > 0 {
		t.Fatalf("lane frames %q as a %d-byte head without body, net/http as %d bytes, length %d, %v",
			data[:end+4], end+4, n, req.ContentLength, req.TransferEncoding)
	}
	if q.method != req.Method || q.uri != req.RequestURI || q.host != req.Host || q.close != req.Close {
		t.Fatalf("lane reads %q as %q %q host %q close %v, net/http as %q %q host %q close %v",
			data[:end+4], q.method, q.uri, q.host, q.close, req.Method, req.RequestURI, req.Host, req.Close)
	}
	// The fields the lane forwards are net/http's minus the hop-by-hop
	// ones, those Connection names and those the proxy sets itself.
	var want, got []string
	removeHopHeaders(req.Header)
	for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded"} {
		delete(req.Header, k)
	}
	for k, vv := range req.Header {
		for _, v := range vv {
			want = append(want, k+": "+v)
		}
	}
	for _, fl := range q.kv[:q.nkv] {
		if fl.k != "Te" {
			got = append(got, textproto.CanonicalMIMEHeaderKey(fl.k)+": "+fl.v)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		t.Fatalf("lane forwards %q of %q, net/http has %q", got, data[:end+4], want)
	}
}

// pipeConn is the client side of a guarded connection: it reads data.
type pipeConn struct {
	net.Conn
	r io.Reader
}

func (c *pipeConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func checkGuardFraming(t *testing.T, data []byte) {
	// Read through the guard a byte at a time, noting where it judged a
	// head and where it stopped checking.
	g := newGuardedConn(&pipeConn{r: bytes.NewReader(data)}, nil)
	var judged []int
	stop := len(data)
	for off := 0; ; {
		atHead := g.st == guardHead && g.ok == 0
		var b [1]byte
		n, err := g.Read(b[:])
		if atHead && (g.st == guardOpaque || g.st == guardRefused) {
			// Refused (the few bytes given do not count), or h2, a head
			// too long or a TE net/http refuses: no more checks.
			stop = min(stop, off)
		}
		if n == 0 || err != nil {
			stop = min(stop, off)
			break
		}
		if atHead && g.st != guardRefused && off < stop {
			judged = append(judged, off)
		}
		off++
	}
	// net/http's request boundaries in the same bytes.
	var starts []int
	cr := &countReader{r: bytes.NewReader(data)}
	br := bufio.NewReader(cr)
	for {
		at := cr.n - br.Buffered()
		if at >= stop {
			break
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			break
		}
		starts = append(starts, at)
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			break
		}
	}
	for _, s := range starts {
		if !slices.Contains(judged, s) {
			t.Fatalf("net/http reads a request at byte %d of %q that the guard did not judge (judged %v, stopped at %d)", s, data, judged, stop)
		}
	}
	last := len(data)
	if len(starts) > 0 {
		last = starts[len(starts)-1]
	}
	for _, j := range judged {
		if j <= last && !slices.Contains(starts, j) && len(starts) > 0 {
			t.Fatalf("the guard judges a head at byte %d of %q where net/http has none (net/http starts %v)", j, data, starts)
		}
	}
}
