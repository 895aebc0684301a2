package proxy

import (
	"strings"
	"unsafe"
)

// parse reads a request head, request line to the empty line, into q.
// It reports false for anything that is not a simple request, or not
// plainly valid, leaving it to net/http; it never answers by itself.
// Every string of q points into head, which is the client reader's
// buffer: they are valid until the next read from the client, which is
// after the request was answered.
func (q *laneReq) parse(head []byte) bool {
	s := unsafe.String(unsafe.SliceData(head), len(head))
	i := strings.Index(s, "\r\n")
	if !q.parseLine(s[:i]) {
		return false
	}
	s = s[i+2:]
	q.nkv, q.xff, q.named, q.host, q.pin = 0, q.xff[:0], q.named[:0], "", pinNone
	hosts, lengths := 0, 0
	keepAlive, trailers := false, false
	for {
		i = strings.Index(s, "\r\n")
		if i == 0 {
			break
		}
		line := s[:i]
		s = s[i+2:]
		c := strings.IndexByte(line, ':')
		if c <= 0 {
			return false
		}
		k, v := line[:c], trimOWS(line[c+1:])
		if !validKey(k) || !validValue(v) {
			return false
		}
		switch fieldKind(k) {
		case fieldForward:
		case fieldDrop:
			continue
		case fieldCanary:
			q.pin = pinOf(v)
			continue
		case fieldRefuse:
			return false
		case fieldHost:
			hosts++
			q.host = v
			continue
		case fieldLength:
			// A repeated one, even equal, is refused (guard.go).
			if v != "0" || lengths > 0 {
				return false
			}
			lengths++
		case fieldXFF:
			q.xff = append(q.xff, v)
			continue
		case fieldTE:
			trailers = trailers || hasToken(v, "trailers")
			continue
		case fieldConnection:
			ok := true
			for t := range strings.SplitSeq(v, ",") {
				switch t = trimOWS(t); {
				case t == "":
				case strings.EqualFold(t, "close"):
					q.close = true
				case strings.EqualFold(t, "keep-alive"):
					keepAlive = true
				case strings.EqualFold(t, "upgrade"):
					ok = false
				default:
					q.named = append(q.named, t)
				}
			}
			if !ok {
				return false
			}
			continue
		}
		if q.nkv == maxLaneFields-1 { // one slot stays free for Te
			return false
		}
		q.kv[q.nkv] = headerField{k, v}
		q.nkv++
	}
	if hosts > 1 || (hosts == 0 && !q.http10) || !validHost(q.host) {
		return false
	}
	if q.http10 && !keepAlive {
		q.close = true
	}
	if len(q.named) > 0 {
		q.dropNamed()
	}
	if trailers {
		q.kv[q.nkv] = headerField{"Te", "trailers"}
		q.nkv++
	}
	return true
}

// parseLine reads "GET /path HTTP/1.1" and resets q's per-request flags.
func (q *laneReq) parseLine(line string) bool {
	sp := strings.IndexByte(line, ' ')
	if sp < 0 {
		return false
	}
	switch q.method = line[:sp]; q.method {
	case "GET", "HEAD", "OPTIONS":
	default:
		return false
	}
	line = line[sp+1:]
	sp = strings.IndexByte(line, ' ')
	if sp < 1 || line[0] != '/' || !validURI(line[:sp]) {
		return false
	}
	q.uri = line[:sp]
	switch line[sp+1:] {
	case "HTTP/1.1":
		q.http10 = false
	case "HTTP/1.0":
		q.http10 = true
	default:
		return false
	}
	q.close = false
	return true
}

// dropNamed removes the fields the Connection header named.
func (q *laneReq) dropNamed() {
	n := 0
	for _, f := range q.kv[:q.nkv] {
		named := false
		for _, t := range q.named {
			if strings.EqualFold(f.k, t) {
				named = true
				break
			}
		}
		if !named {
			q.kv[n] = f
			n++
		}
	}
	q.nkv = n
}

type fieldClass int

const (
	fieldForward fieldClass = iota
	fieldDrop               // hop-by-hop, or rewritten by the proxy
	fieldRefuse             // not a simple request
	fieldHost
	fieldLength
	fieldXFF
	fieldTE
	fieldConnection
	fieldCanary // CanaryHeader: read, then dropped
)

// fieldKind classifies a field name without canonicalizing it: a switch
// on the length keeps the common fields to one or two comparisons.
func fieldKind(k string) fieldClass {
	is := func(name string) bool { return strings.EqualFold(k, name) }
	switch len(k) {
	case 2:
		if is("te") {
			return fieldTE
		}
	case 4:
		if is("host") {
			return fieldHost
		}
	case 6:
		if is("expect") {
			return fieldRefuse
		}
	case 7:
		if is("upgrade") {
			return fieldRefuse
		}
		if is("trailer") {
			return fieldDrop
		}
	case 9:
		if is("forwarded") {
			return fieldDrop
		}
	case 10:
		if is("connection") {
			return fieldConnection
		}
		if is("keep-alive") {
			return fieldDrop
		}
	case 14:
		if is("content-length") {
			return fieldLength
		}
		if is("x-berth-canary") {
			return fieldCanary
		}
	case 15:
		if is("x-forwarded-for") {
			return fieldXFF
		}
	case 16:
		if is("proxy-connection") || is("x-forwarded-host") {
			return fieldDrop
		}
	case 17:
		if is("transfer-encoding") {
			return fieldRefuse
		}
		if is("x-forwarded-proto") {
			return fieldDrop
		}
	case 18:
		if is("proxy-authenticate") {
			return fieldDrop
		}
	case 19:
		if is("proxy-authorization") {
			return fieldDrop
		}
	}
	return fieldForward
}

func hasToken(v, token string) bool {
	for t := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(trimOWS(t), token) {
			return true
		}
	}
	return false
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func validKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if !isTokenByte(k[i]) {
			return false
		}
	}
	return true
}

func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// validURI accepts printable ASCII with well-formed percent escapes,
// stricter than net/http, which then judges the rest.
func validURI(u string) bool {
	for i := 0; i < len(u); i++ {
		b := u[i]
		if b <= ' ' || b >= 0x7f {
			return false
		}
		if b == '%' && (i+2 >= len(u) || !isHex(u[i+1]) || !isHex(u[i+2])) {
			return false
		}
	}
	return true
}

func isHex(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
}

// validHost accepts the bytes of a host[:port] or [v6]:port.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		b := h[i]
		if b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' {
			continue
		}
		if strings.IndexByte(".-:[]_~%", b) < 0 {
			return false
		}
	}
	return true
}
