package proxy

import (
	"bytes"
	"errors"
	"strings"
	"unsafe"
)

// The request policy every tier applies before a request can reach an
// app: what nginx refuses with 400, berth refuses too, so a proxy in
// front of berth and berth cannot disagree on where a request ends
// (request smuggling). net/http alone accepts some of it (it folds
// obs-fold lines, takes Transfer-Encoding over Content-Length and keeps
// the connection, allows a repeated identical Content-Length, ignores
// Transfer-Encoding in HTTP/1.0), so the connections it serves are
// checked first (guard.go); the lane's parser accepts a strict subset.

// errMalformed is a request refused by the policy. net/http answers it
// with 400 and closes the connection.
var errMalformed = errors.New("malformed request")

// frameKind says how a request's body is framed.
type frameKind int

const (
	frameNone    frameKind = iota // no body
	frameLength                   // Content-Length bytes
	frameChunked                  // chunked
	// frameRefusedTE is a Transfer-Encoding other than chunked, which
	// net/http itself answers with 501 and a close.
	frameRefusedTE
)

// framing is where a request's body ends.
type framing struct {
	kind frameKind
	n    int64 // for frameLength
}

// checkHead judges a request head: the request line and the fields, each
// line ending in LF or CRLF, up to (without) the empty line. It returns
// the body framing of a head the policy accepts.
func checkHead(head []byte) (framing, error) {
	s := unsafe.String(unsafe.SliceData(head), len(head))
	line, rest, _ := strings.Cut(s, "\n")
	line, ok := trimCR(line)
	if !ok {
		return framing{}, errMalformed
	}
	http10, ok := checkRequestLine(line)
	if !ok {
		return framing{}, errMalformed
	}
	var f framing
	lengths, encodings := 0, 0
	for rest != "" {
		line, rest, _ = strings.Cut(rest, "\n")
		k, v, ok := checkField(line)
		if !ok {
			return framing{}, errMalformed
		}
		switch {
		case strings.EqualFold(k, "Content-Length"):
			lengths++
			n, ok := parseLength(v)
			if !ok {
				return framing{}, errMalformed
			}
			f.n = n
		case strings.EqualFold(k, "Transfer-Encoding"):
			encodings++
			if strings.EqualFold(v, "chunked") {
				f.kind = frameChunked
			} else {
				f.kind = frameRefusedTE
			}
		}
	}
	switch {
	case lengths > 1 || encodings > 1 || (lengths > 0 && encodings > 0) || (encodings > 0 && http10):
		return framing{}, errMalformed
	case lengths == 1 && f.n > 0:
		f.kind = frameLength
	}
	return f, nil
}

// trimCR drops the CR of a CRLF line end; any other CR is refused
// (RFC 9112 section 2.2), as net/http does.
func trimCR(line string) (string, bool) {
	line = strings.TrimSuffix(line, "\r")
	return line, strings.IndexByte(line, '\r') < 0
}

// checkRequestLine accepts "METHOD target HTTP/1.x" with single spaces
// and reports whether the version is 1.0.
func checkRequestLine(line string) (http10, ok bool) {
	method, rest, ok1 := strings.Cut(line, " ")
	target, version, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || method == "" || target == "" || !validKey(method) {
		return false, false
	}
	for i := 0; i < len(target); i++ {
		if b := target[i]; b <= ' ' || b == 0x7f {
			return false, false
		}
	}
	switch version {
	case "HTTP/1.1":
		return false, true
	case "HTTP/1.0":
		return true, true
	}
	return false, false
}

// checkField splits a field line "name: value" and refuses obs-fold (a
// line starting with whitespace, RFC 9112 section 5.2), an empty or
// invalid name, and control bytes in the value.
func checkField(line string) (k, v string, ok bool) {
	line, ok = trimCR(line)
	if !ok {
		return "", "", false
	}
	k, v, found := strings.Cut(line, ":")
	if !found || k == "" || !validKey(k) {
		return "", "", false
	}
	v = trimOWS(v)
	return k, v, validValue(v)
}

// parseLength reads a Content-Length value: digits only, as net/http
// and nginx want, at most 18 of them past leading zeros (below 2^63).
func parseLength(v string) (int64, bool) {
	if v == "" || len(strings.TrimLeft(v, "0")) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// maxChunkLine bounds a chunk-size line, as net/http does.
const maxChunkLine = 4096

// checkChunkLine judges a chunk-size line (RFC 9112 section 7.1),
// CRLF included, and returns the size: hex digits with a value below
// 2^63, then optional extensions after ';'. Bare LF, whitespace around
// the size, signs and prefixes are refused.
func checkChunkLine(line []byte) (int64, bool) {
	body, found := bytes.CutSuffix(line, []byte("\r\n"))
	if !found || len(line) > maxChunkLine {
		return 0, false
	}
	size, ext, _ := bytes.Cut(body, []byte(";"))
	if len(size) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range size {
		if !isHex(c) || n > (1<<63-1)>>4 {
			return 0, false
		}
		n = n<<4 | int64(hexValue(c))
	}
	for _, c := range ext {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return 0, false
		}
	}
	return n, true
}

func hexValue(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
