package config

import (
	"fmt"
	"net/mail"
	"path/filepath"
	"regexp"

	"github.com/berth-dev/berth/internal/tomlconf"
)

// Defaults of [front] when the table is written (without it the front
// door is off, so a daemon never binds :80 unasked).
const (
	DefaultFrontHTTP      = ":80"
	DefaultFrontHTTPS     = ":443"
	DefaultACMEDirectory  = "https://acme-v02.api.letsencrypt.org/directory"
	defaultRedirectHTTP   = true
	frontListenHelp       = `write host:port, like ":80" or "203.0.113.7:443", or "" to turn it off`
	frontDirectoryExample = `directory = "https://acme.example.com/directory"`
	// DefaultFrontUser is the system user a root daemon runs the front as
	// (created when missing). Not "berth": that is the control socket's
	// group, whose members can deploy; not "berth-front": the user of an
	// app named front.
	DefaultFrontUser = "berth_front"
)

// frontUserRe is what [front] user may be: a unix user name.
var frontUserRe = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// Front is the shared front door: the http and https listeners on which
// apps with [service] hosts are served by host name.
type Front struct {
	HTTP         string `toml:"http"`          // "" turns it off; default ":80" when [front] is written
	HTTPS        string `toml:"https"`         // "" turns it off; default ":443" when [front] is written
	RedirectHTTP bool   `toml:"redirect_http"` // 308 to https for hosts that have TLS; default true
	ACME         ACME   `toml:"acme"`
	// User is who a root daemon runs the front as: "" means
	// DefaultFrontUser, "root" keeps it root. Ignored by a daemon that is
	// not root, which runs the front as itself.
	User string `toml:"user"`
	// UserAt is where user is written ("file:line:col"), for errors found
	// when the daemon resolves it; "" when not written. Not read from TOML.
	UserAt string `toml:"-"`
}

// ACME configures automatic certificates. An empty Email with no [front.acme]
// table means certificates are only those given as tls = {cert, key}.
type ACME struct {
	Email     string `toml:"email"`
	Directory string `toml:"directory"` // RFC 8555 directory URL; default Let's Encrypt
	CARoot    string `toml:"ca_root"`   // PEM file of extra roots to trust for the directory
	// Enabled is true when [front.acme] is written. Not read from TOML.
	Enabled bool `toml:"-"`
}

// Enabled reports whether the front door serves anything.
func (f Front) Enabled() bool { return f.HTTP != "" || f.HTTPS != "" }

func frontDefaults(f *Front, t *tomlconf.Node) {
	if t == nil {
		return
	}
	if t.Field("user") != nil && t.Field("http") == nil && t.Field("https") == nil &&
		t.Field("redirect_http") == nil && t.Field("acme") == nil {
		return // only the front's user: the door stays off
	}
	if t.Field("http") == nil {
		f.HTTP = DefaultFrontHTTP
	}
	if t.Field("https") == nil {
		f.HTTPS = DefaultFrontHTTPS
	}
	if t.Field("redirect_http") == nil {
		f.RedirectHTTP = defaultRedirectHTTP
	}
	a := t.Field("acme")
	if a == nil {
		return
	}
	f.ACME.Enabled = true
	if a.Field("directory") == nil {
		f.ACME.Directory = DefaultACMEDirectory
	}
}

func front(doc *tomlconf.Doc, f *Front) {
	for _, l := range []struct{ key, addr string }{{"front.http", f.HTTP}, {"front.https", f.HTTPS}} {
		if l.addr == "" {
			continue
		}
		if err := checkHostPort(l.addr); err != nil {
			doc.Fail(l.key, "%q: %v", l.addr, err)
		}
	}
	if u := doc.Node("front.user"); u != nil {
		at := u.At()
		f.UserAt = fmt.Sprintf("%s:%d:%d", doc.File(), at.Line, at.Col)
	}
	if f.User != "" && !frontUserRe.MatchString(f.User) {
		doc.Fail("front.user", "%q is not a user name; write a system user like %q, or \"root\" to keep the front root", f.User, DefaultFrontUser)
	}
	if f.HTTP != "" && f.HTTP == f.HTTPS {
		doc.Fail("front.https", "%q is also front.http; give the two different ports", f.HTTPS)
	}
	if !f.ACME.Enabled {
		return
	}
	if f.HTTPS == "" {
		doc.Fail("front.https", "is off, but [front.acme] certificates need the https listener; set front.https or remove [front.acme]")
	}
	if f.ACME.Email != "" {
		if _, err := mail.ParseAddress(f.ACME.Email); err != nil {
			doc.Fail("front.acme.email", "%q is not an email address; the CA writes to it about expiring certificates", f.ACME.Email)
		}
	}
	if err := checkURL(f.ACME.Directory); err != nil {
		doc.Fail("front.acme.directory", "%q: %v; like %s", f.ACME.Directory, err, frontDirectoryExample)
	}
	if f.ACME.CARoot != "" && !filepath.IsAbs(f.ACME.CARoot) {
		doc.Fail("front.acme.ca_root", "%q is not absolute; write the full path of a PEM file", f.ACME.CARoot)
	}
}
