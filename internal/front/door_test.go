package front

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for hosts and its key into dir and
// returns their paths and the certificate.
func selfSigned(t *testing.T, dir, name string, hosts ...string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: hosts[0]},
		DNSNames:     hosts,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour).Truncate(time.Second),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// doorClient sends every request to the door's address whatever the URL's
// host, trusting roots; HTTP/2 is offered over TLS. It does not follow
// redirects.
func doorClient(plain, secure string, roots *x509.CertPool) *http.Client {
	var d net.Dialer
	dial := func(ctx context.Context, _, addr string) (net.Conn, error) {
		if strings.HasSuffix(addr, ":443") || strings.HasSuffix(addr, ":"+port(secure)) {
			return d.DialContext(ctx, "tcp", secure)
		}
		return d.DialContext(ctx, "tcp", plain)
	}
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			DialContext:       dial,
			TLSClientConfig:   &tls.Config{RootCAs: roots},
			ForceAttemptHTTP2: true,
		},
	}
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

type got struct {
	status int
	body   string
	proto  string
	loc    string
}

func fetch(t *testing.T, c *http.Client, url, host string) (got, error) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := c.Do(req)
	if err != nil {
		return got{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return got{resp.StatusCode, string(b), resp.Proto, resp.Header.Get("Location")}, nil
}

// TestDoorHostsWithCertFiles serves four apps on one pair of listeners by
// host name and path prefix, with certificates from files, and checks
// routing, HTTP/2, the redirect, the answers for unknown hosts, the
// conflict error, the status, and that a new front serves it all again.
func TestDoorHostsWithCertFiles(t *testing.T) {
	dir, tlsDir := t.TempDir(), t.TempDir()
	aCert, aKey, aX := selfSigned(t, tlsDir, "a", "a.test")
	bCert, bKey, bX := selfSigned(t, tlsDir, "b", "b.test")
	roots := x509.NewCertPool()
	roots.AddCert(aX)
	roots.AddCert(bX)
	plain, secure := freeAddr(t), freeAddr(t)
	f, c := startFront(t, dir, nil)
	ctx := context.Background()
	if err := c.Door(ctx, DoorSpec{HTTP: plain, HTTPS: secure, RedirectHTTP: true}); err != nil {
		t.Fatal(err)
	}
	routes := []struct {
		app  string
		spec RouteSpec
	}{
		{"a", RouteSpec{Protocol: "http", Hosts: []string{"a.test"}, TLS: TLSSpec{Mode: tlsFile, Cert: aCert, Key: aKey}}},
		{"api", RouteSpec{Protocol: "http", Hosts: []string{"A.test"}, PathPrefix: "/api", TLS: TLSSpec{Mode: tlsFile, Cert: aCert, Key: aKey}}},
		{"b", RouteSpec{Protocol: "http", Hosts: []string{"b.test"}, TLS: TLSSpec{Mode: tlsFile, Cert: bCert, Key: bKey}}},
		{"plain", RouteSpec{Protocol: "http", Hosts: []string{"plain.test"}, TLS: TLSSpec{Mode: tlsOff}}},
	}
	for _, r := range routes {
		rt, err := c.Route(ctx, r.app, r.spec, nil)
		if err != nil {
			t.Fatalf("route %s: %v", r.app, err)
		}
		rt.Switch(backend(t, r.app))
	}
	_, err := c.Route(ctx, "thief", RouteSpec{Protocol: "http", Hosts: []string{"b.test"}}, nil)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "app b") {
		t.Errorf("second app on b.test: err = %v; want a conflict naming app b", err)
	}
	check := func(t *testing.T) {
		hc := doorClient(plain, secure, roots)
		for _, tt := range []struct {
			name, url, host string
			want            got
		}{
			{"a over h2", "https://a.test:" + port(secure) + "/", "", got{200, "a", "HTTP/2.0", ""}},
			{"longest prefix", "https://a.test:" + port(secure) + "/api/x", "", got{200, "api", "HTTP/2.0", ""}},
			{"prefix is a path segment", "https://a.test:" + port(secure) + "/apix", "", got{200, "a", "HTTP/2.0", ""}},
			{"b", "https://b.test:" + port(secure) + "/", "", got{200, "b", "HTTP/2.0", ""}},
			{"host other than the server name", "https://a.test:" + port(secure) + "/", "b.test", got{421, bodyMisdirected, "HTTP/2.0", ""}},
			{"redirect", "http://a.test:" + port(plain) + "/x?y=1", "", got{308, "", "HTTP/1.1", "https://a.test:" + port(secure) + "/x?y=1"}},
			{"plain host", "http://plain.test:" + port(plain) + "/", "", got{200, "plain", "HTTP/1.1", ""}},
			{"unknown host plain", "http://nobody.test:" + port(plain) + "/", "", got{404, bodyUnknownHost, "HTTP/1.1", ""}},
		} {
			g, err := fetch(t, hc, tt.url, tt.host)
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			if tt.want.status == 308 {
				g.body = ""
			}
			if g != tt.want {
				t.Errorf("%s: got %+v, want %+v", tt.name, g, tt.want)
			}
		}
		for _, name := range []string{"nobody.test", "plain.test"} {
			conn, err := tls.Dial("tcp", secure, &tls.Config{ServerName: name, InsecureSkipVerify: true})
			if err == nil {
				conn.Close()
				t.Errorf("TLS handshake for %s succeeded; want no certificate at all", name)
			}
		}
	}
	check(t)
	st, err := c.DoorStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byHost := map[string]HostStatus{}
	for _, h := range st {
		byHost[h.Host] = h
	}
	if a := byHost["a.test"]; a.Requests != 3 || !a.CertExpiry.Equal(aX.NotAfter) || strings.Join(a.Apps, ",") != "api,a" {
		t.Errorf("status of a.test = %+v; want 3 requests, apps api,a, expiry %v", a, aX.NotAfter)
	}
	if p := byHost["plain.test"]; p.TLS != tlsOff || p.Requests != 1 {
		t.Errorf("status of plain.test = %+v", p)
	}
	f.stop(t)
	f, _ = startFront(t, dir, nil)
	defer f.stop(t)
	t.Run("after a front restart", check)
}

// TestDoorSocketsAreHeld checks that the door's sockets are in the socket
// table as front:http and front:https, and that a peer holding them keeps
// a connection made while no front runs, which the next front, given the
// sockets, serves.
func TestDoorSocketsAreHeld(t *testing.T) {
	dir := t.TempDir()
	plain, secure := freeAddr(t), freeAddr(t)
	f, c := startFront(t, dir, nil)
	ctx := context.Background()
	if err := c.Door(ctx, DoorSpec{HTTP: plain, HTTPS: secure}); err != nil {
		t.Fatal(err)
	}
	rt, err := c.Route(ctx, "p", RouteSpec{Protocol: "http", Hosts: []string{"p.test"}, TLS: TLSSpec{Mode: tlsOff}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt.Switch(backend(t, "p"))
	socks, err := c.Listeners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if socks[doorHTTP] == nil || socks[doorHTTPS] == nil || len(socks) != 2 {
		t.Fatalf("listeners = %v; want front:http and front:https only (the route has no listener)", socks)
	}
	f.stop(t)
	conn, err := net.DialTimeout("tcp", plain, 2*time.Second)
	if err != nil {
		t.Fatalf("connecting while no front runs: %v", err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: p.test\r\nConnection: close\r\n\r\n")
	f, _ = startFront(t, dir, socks)
	defer f.stop(t)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer of the next front: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "p" {
		t.Errorf("next front answered %d %q; want 200 \"p\"", resp.StatusCode, b)
	}
}
