package front

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/acmetest"
)

// startFrontTuned is startFront with the door's certificate knobs.
func startFrontTuned(t *testing.T, dir string, tune DoorTuning) (*running, *Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- Serve(ctx, Config{RunDir: dir, Version: "test", Door: tune}) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := Dial(dir, nil)
		if err == nil {
			return r, c
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("front does not answer: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// served returns the leaf certificate the door shows for name, verified
// against roots, or an error.
func served(addr, name string, roots *x509.CertPool) (*x509.Certificate, error) {
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, RootCAs: roots, NextProtos: []string{"h2"}})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// waitCert waits until the door shows name a certificate that verifies
// and, when not nil, differs from not.
func waitCert(t *testing.T, addr, name string, roots *x509.CertPool, not *x509.Certificate, within time.Duration) *x509.Certificate {
	t.Helper()
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		c, err := served(addr, name, roots)
		if err == nil && (not == nil || c.SerialNumber.Cmp(not.SerialNumber) != 0) {
			return c
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no (new) certificate for %s within %v: %v", name, within, last)
	return nil
}

// TestDoorACMEWithPebble obtains certificates for two apps on one
// listener from a real ACME server, checks routing, HTTP/2 and the
// storage's modes, lets a 30 s certificate renew (certmagic's default
// renewal window, a third of the lifetime, checked every second), reports
// the CA's refusal of a blocked name without serving it any certificate,
// and serves the stored certificate from a new front with the CA gone.
func TestDoorACMEWithPebble(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs Pebble")
	}
	httpPort, tlsPort := acmetest.FreePort(t), acmetest.FreePort(t)
	plain, secure := "127.0.0.1:"+strconv.Itoa(httpPort), "127.0.0.1:"+strconv.Itoa(tlsPort)
	peb := acmetest.Start(t, acmetest.Options{HTTPPort: httpPort, TLSPort: tlsPort, Validity: 30, Blocked: []string{"blocked.test"}})
	dir, storage := t.TempDir(), filepath.Join(t.TempDir(), "certs")
	tune := DoorTuning{RenewCheck: time.Second}
	f, c := startFrontTuned(t, dir, tune)
	ctx := context.Background()
	spec := DoorSpec{HTTP: plain, HTTPS: secure, RedirectHTTP: true, Storage: storage,
		ACME: ACMESpec{Email: "ops@example.com", Directory: peb.Directory, CARoot: peb.CAFile}}
	if err := c.Door(ctx, spec); err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"a", "b", "blocked"} {
		rt, err := c.Route(ctx, app, RouteSpec{Protocol: "http", Hosts: []string{app + ".test"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rt.Switch(backend(t, app))
	}
	first := waitCert(t, secure, "a.test", peb.Roots, nil, 60*time.Second)
	waitCert(t, secure, "b.test", peb.Roots, nil, 60*time.Second)
	hc := doorClient(plain, secure, peb.Roots)
	for _, app := range []string{"a", "b"} {
		g, err := fetch(t, hc, "https://"+app+".test:"+strconv.Itoa(tlsPort)+"/", "")
		if err != nil || g.body != app || g.proto != "HTTP/2.0" {
			t.Errorf("https %s.test: %+v, %v; want %q over HTTP/2", app, g, err, app)
		}
		g, err = fetch(t, hc, "http://"+app+".test:"+strconv.Itoa(httpPort)+"/p", "")
		if err != nil || g.status != 308 || g.loc != "https://"+app+".test:"+strconv.Itoa(tlsPort)+"/p" {
			t.Errorf("http %s.test: %+v, %v; want a 308 to https", app, g, err)
		}
	}
	checkModes(t, storage)
	if conn, err := tls.Dial("tcp", secure, &tls.Config{ServerName: "blocked.test", InsecureSkipVerify: true}); err == nil {
		conn.Close()
		t.Errorf("handshake for blocked.test succeeded; want it refused (no certificate at all)")
	}
	blocked := waitStatus(t, c, "blocked.test", func(h HostStatus) bool { return h.CertError != "" })
	t.Logf("blocked.test: %s", blocked.CertError)
	if !strings.Contains(blocked.CertError, "blocked") {
		t.Errorf("blocked.test error = %q; want the CA's own text", blocked.CertError)
	}

	renewed := waitCert(t, secure, "a.test", peb.Roots, first, 60*time.Second)
	if !renewed.NotAfter.After(first.NotAfter) {
		t.Errorf("renewed certificate expires %v, the first %v", renewed.NotAfter, first.NotAfter)
	}
	st := waitStatus(t, c, "a.test", func(h HostStatus) bool { return h.Renewals > 0 })
	t.Logf("a.test: first certificate until %v, renewed one until %v", first.NotAfter, renewed.NotAfter)
	if st.CertExpiry.IsZero() || st.Requests < 1 {
		t.Errorf("status of a.test = %+v", st)
	}

	// A new front serves the stored certificate at once.
	f.stop(t)
	f2, _ := startFrontTuned(t, dir, DoorTuning{})
	defer f2.stop(t)
	again, err := served(secure, "a.test", peb.Roots)
	if err != nil {
		t.Fatalf("new front, a.test: %v", err)
	}
	if again.NotBefore.Before(first.NotBefore) {
		t.Errorf("new front serves an older certificate")
	}
}

func waitStatus(t *testing.T, c *Client, host string, ok func(HostStatus) bool) HostStatus {
	t.Helper()
	var last HostStatus
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		hosts, err := c.DoorStatus(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hosts {
			if h.Host == host {
				last = h
				if ok(h) {
					return h
				}
			}
		}
	}
	t.Fatalf("status of %s never as wanted; last %+v", host, last)
	return last
}

// checkModes checks that certificate storage is private: 0700
// directories and 0600 files.
func checkModes(t *testing.T, root string) {
	t.Helper()
	n := 0
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		info, _ := d.Info()
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, info.Mode().Perm(), want)
		}
		n++
		return nil
	})
	if n < 3 {
		t.Errorf("certificate storage holds %d entries", n)
	}
}
