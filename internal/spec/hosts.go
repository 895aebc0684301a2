package spec

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// TLS modes of [service] tls.
const (
	TLSACME = "acme" // certificates from the ACME CA of daemon.toml [front.acme]
	TLSOff  = "off"  // plain HTTP only
	TLSFile = "file" // tls = { cert = "...", key = "..." }
)

// TLS says how an app's hosts get certificates: tls = "acme" or "off", or
// a table { cert, key } of PEM files. The zero TLS is the default: ACME
// when the daemon has [front.acme], else off.
type TLS struct {
	Mode string `toml:"-"`    // "" (default), acme, off or file
	Cert string `toml:"cert"` // PEM certificate chain (file mode)
	Key  string `toml:"key"`  // PEM private key (file mode)
}

// DecodeString takes the string form, tls = "acme" or "off".
func (t *TLS) DecodeString(s string) { *t = TLS{Mode: s} }

// Route is the front door route of an app: its hosts under one path
// prefix. Two apps may share a host only under different prefixes.
type Route struct {
	Host, Prefix string
}

// Routes returns the (host, prefix) pairs the service claims, hosts in
// lower case.
func (s *Service) Routes() []Route {
	out := make([]Route, 0, len(s.Hosts))
	for _, h := range s.Hosts {
		out = append(out, Route{Host: strings.ToLower(h), Prefix: s.Prefix()})
	}
	return out
}

// Prefix returns PathPrefix with its default "/".
func (s *Service) Prefix() string {
	if s.PathPrefix == "" {
		return "/"
	}
	return s.PathPrefix
}

// Equal reports whether two services are the same route (Service holds a
// slice, so == does not compile).
func (s Service) Equal(o Service) bool {
	return s.Listen == o.Listen && s.Protocol == o.Protocol && s.RequestTimeout == o.RequestTimeout &&
		slices.Equal(s.Hosts, o.Hosts) && s.PathPrefix == o.PathPrefix && s.TLS == o.TLS
}

func (v *validator) hosts(s *Service) {
	seen := map[string]int{}
	for i, h := range s.Hosts {
		path := fmt.Sprintf("service.hosts[%d]", i)
		lh := strings.ToLower(h)
		switch {
		case strings.Contains(h, ":") || strings.Contains(h, "/"):
			v.fail(path, "%q: write a host name alone, like \"api.example.com\" (no scheme, port or path)", h)
		case strings.HasPrefix(h, "*."):
			v.fail(path, "%q: wildcard hosts are not supported; list each host", h)
		case !matchMax(hostRe, h, maxHost) || !strings.Contains(h, "."):
			v.fail(path, "%q is not a host name; write it like \"api.example.com\"", h)
		default:
			if j, dup := seen[lh]; dup {
				v.fail(path, "%q is listed twice (also hosts[%d])", h, j)
			}
			seen[lh] = i
		}
	}
	if s.Protocol == ProtocolTCP && len(s.Hosts) > 0 {
		v.fail("service.hosts", "hosts are served by the HTTP front door; a tcp service takes listen only")
	}
	if p := s.PathPrefix; p != "" && (!strings.HasPrefix(p, "/") || strings.Contains(p, "..") || strings.ContainsAny(p, "?#")) {
		v.fail("service.path_prefix", "%q: write a path starting with /, like \"/api\"", p)
	}
	if s.PathPrefix != "" && len(s.Hosts) == 0 {
		v.fail("service.path_prefix", "only applies with hosts; add hosts = [\"app.example.com\"]")
	}
	v.tls(&s.TLS, len(s.Hosts) > 0)
}

func (v *validator) tls(t *TLS, hosts bool) {
	n := v.root.Field("service").Field("tls")
	if n == nil {
		return
	}
	if !hosts {
		v.fail("service.tls", "only applies with hosts; add hosts = [\"app.example.com\"]")
		return
	}
	if n.IsString() {
		v.oneOf("service.tls", "a TLS mode", t.Mode, TLSACME, TLSOff)
		return
	}
	t.Mode = TLSFile
	for _, f := range []struct{ key, val string }{{"cert", t.Cert}, {"key", t.Key}} {
		switch {
		case n.Field(f.key) == nil:
			v.fail("service.tls", "missing %s; write tls = { cert = \"/etc/berth/tls/app.crt\", key = \"/etc/berth/tls/app.key\" }", f.key)
		case !filepath.IsAbs(f.val):
			v.fail("service.tls."+f.key, "%q is not absolute; write the full path of a PEM file", f.val)
		}
	}
}
