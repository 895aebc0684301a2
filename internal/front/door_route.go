package front

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/proxy"
)

// TLS modes of a route (TLSSpec.Mode).
const (
	tlsACME = "acme"
	tlsOff  = "off"
	tlsFile = "file"
)

// hostRoute is one app under one path prefix of a host.
type hostRoute struct {
	app    string
	prefix string
	p      *proxy.Proxy
	mode   string           // acme, off or file, the default resolved
	cert   *tls.Certificate // file mode
}

// hostTable maps a lower-case host to its routes, longest prefix first.
// It is immutable once stored.
type hostTable struct {
	hosts map[string][]hostRoute
	// bad lists routes whose certificate files could not be loaded.
	bad map[string]error
}

// buildTable makes the table of rs's routes; acme says whether the door
// has an ACME CA (the default mode of a route without tls). Called under
// rs.mu.
func buildTable(m map[string]*route, acme bool) *hostTable {
	t := &hostTable{hosts: map[string][]hostRoute{}, bad: map[string]error{}}
	for app, r := range m {
		spec := r.state.Spec
		if len(spec.Hosts) == 0 {
			continue
		}
		hr := hostRoute{app: app, prefix: cmp.Or(spec.PathPrefix, "/"), p: r.p, mode: spec.TLS.Mode}
		if hr.mode == "" {
			hr.mode = tlsOff
			if acme {
				hr.mode = tlsACME
			}
		}
		if hr.mode == tlsFile {
			c, err := tls.LoadX509KeyPair(spec.TLS.Cert, spec.TLS.Key)
			if err != nil {
				t.bad[app] = fmt.Errorf("loading the certificate of %s: %w", app, err)
			} else {
				hr.cert = &c
			}
		}
		for _, h := range spec.Hosts {
			h = strings.ToLower(h)
			t.hosts[h] = append(t.hosts[h], hr)
		}
	}
	for h, rs := range t.hosts {
		slices.SortFunc(rs, func(a, b hostRoute) int { return cmp.Compare(len(b.prefix), len(a.prefix)) })
		t.hosts[h] = rs
	}
	return t
}

// acmeHosts returns the hosts whose certificates come from ACME, sorted.
func (t *hostTable) acmeHosts() []string {
	var out []string
	for h, rs := range t.hosts {
		if slices.ContainsFunc(rs, func(r hostRoute) bool { return r.mode == tlsACME }) {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}

// lookup returns the route of host serving path: the longest prefix that
// is path itself or a parent of it.
func (t *hostTable) lookup(host, path string) (hostRoute, bool) {
	for _, r := range t.hosts[host] {
		if under(path, r.prefix) {
			return r, true
		}
	}
	return hostRoute{}, false
}

// under reports whether path is prefix or below it ("/api" holds "/api"
// and "/api/x", not "/apix").
func under(path, prefix string) bool {
	if prefix == "/" {
		return true
	}
	p := strings.TrimSuffix(prefix, "/")
	return path == p || strings.HasPrefix(path, p+"/")
}

// requestHost returns r's host in lower case, without a port.
func requestHost(r *http.Request) string { return normHost(r.Host) }

// normHost returns the host of a Host header in lower case, without a
// port or a trailing dot.
func normHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// Answers of the door itself.
const (
	bodyUnknownHost = "berth: no app is served on this host name here\n"
	bodyMisdirected = "berth: this connection is not for that host name; open a new connection to it\n"
)

func answer(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, body)
}

// servePlain serves the http listener: ACME HTTP-01 challenges, the
// redirect to https of hosts that have TLS, and plain routes. An unknown
// host gets 404 and never another app's content.
func (d *door) servePlain(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, acmeChallengePath) && d.challenge(w, r) {
		return
	}
	host := requestHost(r)
	hr, ok := d.table.Load().lookup(host, r.URL.Path)
	if !ok {
		answer(w, http.StatusNotFound, bodyUnknownHost)
		return
	}
	if l := d.live.Load(); hr.mode != tlsOff && l.redirect {
		d.redirect(w, r, host, l.port)
		return
	}
	d.forward(w, r, host, hr)
}

// serveTLS serves the https listener. A request whose Host is not the
// connection's server name, or not served here, gets 421 (RFC 9110
// 15.5.20): a client reusing an HTTP/2 connection for another name then
// opens a new one.
func (d *door) serveTLS(w http.ResponseWriter, r *http.Request) {
	host := requestHost(r)
	if r.TLS != nil && r.TLS.ServerName != "" && !strings.EqualFold(r.TLS.ServerName, host) {
		answer(w, http.StatusMisdirectedRequest, bodyMisdirected)
		return
	}
	hr, ok := d.table.Load().lookup(host, r.URL.Path)
	if !ok || hr.mode == tlsOff {
		answer(w, http.StatusMisdirectedRequest, bodyMisdirected)
		return
	}
	d.forward(w, r, host, hr)
}

// forward hands r to the app's proxy, counting it for host.
func (d *door) forward(w http.ResponseWriter, r *http.Request, host string, hr hostRoute) {
	c := d.hosts.get(host)
	c.requests.Add(1)
	sw := &statusWriter{ResponseWriter: w}
	hr.p.ServeHTTP(sw, r)
	if sw.status >= 500 {
		c.errors.Add(1)
	}
}

// redirect answers 308 (method and body kept) to the https URL of r.
func (d *door) redirect(w http.ResponseWriter, r *http.Request, host, port string) {
	target := "https://" + host
	if port != "" {
		target += ":" + port
	}
	target += r.URL.RequestURI()
	w.Header().Set("Location", target)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusPermanentRedirect)
	io.WriteString(w, "berth: this host is served over https: "+target+"\n")
}

// statusWriter notes the status the proxy answers. Unwrap keeps Flush,
// Hijack and the HTTP/2 extended CONNECT of the proxy working through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush implements http.Flusher for callers that assert it directly.
func (s *statusWriter) Flush() { http.NewResponseController(s.ResponseWriter).Flush() }

// Unwrap returns the wrapped writer for http.ResponseController.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
