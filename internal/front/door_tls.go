package front

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
)

const (
	acmeALPN          = "acme-tls/1" // TLS-ALPN-01 (RFC 8737)
	acmeChallengePath = "/.well-known/acme-challenge/"
)

// errNoCert is the handshake error for a name the door has no certificate
// for: the handshake fails rather than showing another host's certificate.
var errNoCert = errors.New("front door: no certificate for this server name")

// certs obtains and renews the door's ACME certificates with certmagic,
// in the front process, so the data path keeps them when the daemon is
// gone. Safe for concurrent use.
type certs struct {
	log    *slog.Logger
	cache  *certmagic.Cache
	cfg    *certmagic.Config
	issuer *certmagic.ACMEIssuer
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	managed []string
	state   map[string]*certState // by host
}

// certState is what the door knows of one host's certificate.
type certState struct {
	Obtained  time.Time
	LastError string // the CA's own text of the last failure, "" after a success
	ErrorAt   time.Time
	Renewals  int
}

func newCerts(log *slog.Logger, spec DoorSpec, tune DoorTuning, table func() *hostTable) (*certs, error) {
	if spec.Storage == "" {
		return nil, errors.New("front door: ACME needs a certificate storage directory")
	}
	if err := os.MkdirAll(spec.Storage, 0o700); err != nil {
		return nil, fmt.Errorf("creating certificate storage: %w", err)
	}
	roots, err := trustedRoots(spec.ACME.CARoot)
	if err != nil {
		return nil, err
	}
	c := &certs{log: log, state: map[string]*certState{}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	nop := zap.NewNop()
	c.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return c.cfg, nil },
		RenewCheckInterval: tune.RenewCheck,
		Logger:             nop,
	})
	c.cfg = certmagic.New(c.cache, certmagic.Config{
		Storage:            &privateStorage{certmagic.FileStorage{Path: spec.Storage}},
		RenewalWindowRatio: tune.RenewWindow,
		OnEvent:            c.onEvent,
		Logger:             nop,
	})
	host, httpPort := splitPort(spec.HTTP)
	_, tlsPort := splitPort(spec.HTTPS)
	c.issuer = certmagic.NewACMEIssuer(c.cfg, certmagic.ACMEIssuer{
		CA:           spec.ACME.Directory,
		TestCA:       spec.ACME.Directory,
		Email:        spec.ACME.Email,
		Agreed:       true,
		TrustedRoots: roots,
		// The door itself answers both challenges on its own sockets;
		// certmagic finds the ports taken and leaves them to it.
		ListenHost:           host,
		AltHTTPPort:          httpPort,
		AltTLSALPNPort:       tlsPort,
		DisableHTTPChallenge: spec.HTTP == "",
		Logger:               nop,
	})
	c.cfg.Issuers = []certmagic.Issuer{c.issuer}
	return c, nil
}

// privateStorage is certmagic's file storage with lock files of mode
// 0600 like everything else in it (certmagic makes them 0644).
type privateStorage struct{ certmagic.FileStorage }

// Lock implements certmagic.Locker.
func (s *privateStorage) Lock(ctx context.Context, name string) error {
	if err := s.FileStorage.Lock(ctx, name); err != nil {
		return err
	}
	_ = os.Chmod(filepath.Join(s.Path, "locks", certmagic.StorageKeys.Safe(name)+".lock"), 0o600)
	return nil
}

func splitPort(addr string) (string, int) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0
	}
	n, _ := strconv.Atoi(port)
	return host, n
}

// trustedRoots returns the system roots plus those of file, if any.
func trustedRoots(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading ACME ca_root: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("reading ACME ca_root %s: no PEM certificate in it", file)
	}
	return pool, nil
}

// manage has certmagic obtain (or load from storage) and renew the
// certificates of hosts, in the background; hosts it managed before and
// no longer gets are left to expire unused.
func (c *certs) manage(ctx context.Context, hosts []string) {
	c.mu.Lock()
	var fresh []string
	for _, h := range hosts {
		if !slices.Contains(c.managed, h) {
			fresh = append(fresh, h)
			c.managed = append(c.managed, h)
		}
	}
	c.mu.Unlock()
	if len(fresh) == 0 {
		return
	}
	// A certificate in storage is served from the first handshake on, not
	// once the background management got to it (a new front would fail
	// handshakes meanwhile); one not stored yet is obtained in the back.
	for _, h := range fresh {
		_, _ = c.cfg.CacheManagedCertificate(ctx, h)
	}
	if err := c.cfg.ManageAsync(c.ctx, fresh); err != nil {
		c.log.Error("managing certificates", "hosts", fresh, "err", err)
	}
}

// onEvent records certmagic's outcomes per host; a failure keeps the
// CA's text for the daemon's events and alerts.
func (c *certs) onEvent(_ context.Context, event string, data map[string]any) error {
	name, _ := data["identifier"].(string)
	if name == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.state[name]
	if st == nil {
		st = &certState{}
		c.state[name] = st
	}
	switch event {
	case "cert_obtained":
		st.Obtained, st.LastError = time.Now(), ""
		if renewal, _ := data["renewal"].(bool); renewal {
			st.Renewals++
		}
		c.log.Info("certificate obtained", "host", name, "renewal", data["renewal"])
	case "cert_failed":
		err, _ := data["error"].(error)
		st.LastError, st.ErrorAt = fmt.Sprint(err), time.Now()
		c.log.Error("certificate failed", "host", name, "renewal", data["renewal"], "err", err)
	}
	return nil
}

// status returns host's certificate state and the expiry of the
// certificate served for it (zero when none is).
func (c *certs) status(host string) (certState, time.Time) {
	c.mu.Lock()
	var st certState
	if s := c.state[host]; s != nil {
		st = *s
	}
	c.mu.Unlock()
	var exp time.Time
	for _, cert := range c.cache.AllMatchingCertificates(host) {
		if cert.Leaf != nil && cert.Leaf.NotAfter.After(exp) {
			exp = cert.Leaf.NotAfter
		}
	}
	return st, exp
}

func (c *certs) close() {
	c.cancel()
	c.cache.Stop()
}

// certificate picks the certificate of a TLS handshake: the challenge
// certificate for TLS-ALPN-01, the file or ACME certificate of a known
// host, and none (a failed handshake) for any other name.
func (d *door) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := d.live.Load().certs
	if slices.Contains(hello.SupportedProtos, acmeALPN) {
		if c == nil {
			return nil, errNoCert
		}
		return c.cfg.GetCertificate(hello)
	}
	host := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	rs := d.table.Load().hosts[host]
	if len(rs) == 0 {
		return nil, errNoCert
	}
	switch hr := rs[0]; {
	case hr.mode == tlsFile && hr.cert != nil:
		return hr.cert, nil
	case hr.mode == tlsACME && c != nil:
		return c.cfg.GetCertificate(hello)
	}
	return nil, errNoCert
}

// challenge answers an ACME HTTP-01 request; false when it is not one
// of the door's.
func (d *door) challenge(w http.ResponseWriter, r *http.Request) bool {
	c := d.live.Load().certs
	return c != nil && c.issuer.HandleHTTPChallenge(w, r)
}
