package proxy

import (
	"net/http"
	"net/textproto"
	"strings"
)

// hopHeaders belong to one connection and must not be forwarded
// (RFC 9110 section 7.6.1), in canonical form.
var hopHeaders = [...]string{
	"Connection",
	"Proxy-Connection",
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Te",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
}

// removeHopHeaders deletes hop-by-hop headers, including those the
// Connection header names.
func removeHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// upgradeType returns the protocol a request asks to switch to, or "".
// "h2c" is not tunnelled: clients can speak HTTP/2 cleartext to the proxy
// directly, and the backend hop is always HTTP/1.1.
func upgradeType(h http.Header) string {
	if !headerHasToken(h, "Connection", "upgrade") {
		return ""
	}
	up := h.Get("Upgrade")
	if strings.EqualFold(up, "h2c") {
		return ""
	}
	return up
}

func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h[key] {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(textproto.TrimString(t), token) {
				return true
			}
		}
	}
	return false
}

// prepareOutHeader edits the client's request header in place for the
// backend: the handler owns it, and editing it saves a clone per request.
func prepareOutHeader(r *http.Request, upgrade string) {
	h := r.Header
	keepTrailers := headerHasToken(h, "Te", "trailers")
	removeHopHeaders(h)
	if keepTrailers {
		// The backend may only send trailers if the client accepts them.
		h["Te"] = []string{"trailers"}
	}
	if upgrade != "" {
		h["Connection"] = []string{"Upgrade"}
		h["Upgrade"] = []string{upgrade}
	}
	if _, ok := h["User-Agent"]; !ok {
		// Keep Go's transport from inventing a User-Agent.
		h["User-Agent"] = []string{""}
	}

	ip := clientIP(r.RemoteAddr)
	if prior := h["X-Forwarded-For"]; len(prior) > 0 {
		ip = strings.Join(prior, ", ") + ", " + ip
	}
	h["X-Forwarded-For"] = []string{ip}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	h["X-Forwarded-Proto"] = []string{proto}
	h["X-Forwarded-Host"] = []string{r.Host}
	// The client's Forwarded (RFC 7239) would contradict the fields the
	// proxy sets and could claim any address: it goes, as on the fast
	// paths.
	delete(h, "Forwarded")
}

// prepareFastHeader is prepareOutHeader for the fast path: writeRequest
// adds the X-Forwarded fields and leaves out a missing User-Agent itself.
func prepareFastHeader(r *http.Request) {
	h := r.Header
	keepTrailers := headerHasToken(h, "Te", "trailers")
	removeHopHeaders(h)
	if keepTrailers {
		h["Te"] = []string{"trailers"}
	}
}

// clientIP strips the port from a RemoteAddr without allocating.
func clientIP(remote string) string {
	i := strings.LastIndexByte(remote, ':')
	if i < 0 {
		return remote
	}
	host := remote[:i]
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return host
}

// copyResponseHeader moves the backend's response header to the client's,
// minus hop-by-hop headers, and announces trailers the backend declared.
func copyResponseHeader(dst http.Header, resp *http.Response) {
	removeHopHeaders(resp.Header)
	for k, vv := range resp.Header {
		dst[k] = vv
	}
	if len(resp.Trailer) > 0 {
		names := make([]string, 0, len(resp.Trailer))
		for k := range resp.Trailer {
			names = append(names, k)
		}
		dst["Trailer"] = []string{strings.Join(names, ", ")}
	}
}
