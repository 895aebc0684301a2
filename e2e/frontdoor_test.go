package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// doorCert writes a self-signed certificate for hosts under dir.
func doorCert(t *testing.T, dir string, hosts ...string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: hosts[0]}, DNSNames: hosts,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "door.crt"), filepath.Join(dir, "door.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

// doorTransport dials addr whatever the URL's host, trusting pool.
func doorTransport(addr string, pool *x509.CertPool, h2 bool) *http.Transport {
	var d net.Dialer
	tr := &http.Transport{
		DialContext:         func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) },
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2:   h2,
		MaxIdleConnsPerHost: 8,
	}
	if !h2 {
		tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return tr
}

// hostApp is the sample agent served on hosts by the front door.
func hostApp(name, version, service string) app {
	return app{name: name, version: version, checks: service + `
[[checks]]
name = "up"
type = "http"
path = "/up"
interval = "200ms"
timeout = "1s"
retries = 2
start_period = "2s"
`}
}

// TestFrontDoorBlueGreenOverTLS configures the front door in daemon.toml,
// serves two apps on one https listener by host name with a certificate
// from files, refuses a third app claiming a served host (naming the
// owner), and deploys a new release of one app under HTTPS load (HTTP/2
// and HTTP/1.1 keep-alive) with no failed request.
func TestFrontDoorBlueGreenOverTLS(t *testing.T) {
	e := newEnv(t)
	plain, secure := freePort(t), freePort(t)
	e.stopDaemon(syscall.SIGTERM)
	conf := fmt.Sprintf("[front]\nhttp = \"127.0.0.1:%d\"\nhttps = \"127.0.0.1:%d\"\n", plain, secure)
	if err := os.WriteFile(filepath.Join(e.home, "daemon.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	e.startDaemon()
	certFile, keyFile, pool := doorCert(t, e.home, "a.test", "b.test")
	svc := func(host string) string {
		return fmt.Sprintf("[service]\nhosts = [%q]\ntls = { cert = %q, key = %q }\n", host, certFile, keyFile)
	}
	e.mustDeploy(hostApp("a", "a1", svc("a.test")))
	e.mustDeploy(hostApp("b", "b1", svc("b.test")))
	if r := e.deploy(hostApp("thief", "t1", svc("a.test"))); r.code == 0 || !strings.Contains(r.stderr+r.stdout, "app a") {
		t.Errorf("deploy of a second app on a.test: %s; want a failure naming app a", r)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", secure)
	for _, host := range []string{"a", "b"} {
		c := &http.Client{Timeout: 5 * time.Second, Transport: doorTransport(addr, pool, true)}
		code, body, err := get(c, fmt.Sprintf("https://%s.test/", host))
		if err != nil || code != 200 || body != "hello from "+host+"1" {
			t.Fatalf("https %s.test: %d %q %v", host, code, body, err)
		}
	}
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/x", plain), nil)
	req.Host = "a.test"
	if resp, err := c.Do(req); err != nil || resp.StatusCode != 308 || resp.Header.Get("Location") != fmt.Sprintf("https://a.test:%d/x", secure) {
		t.Errorf("http a.test: %v %v; want 308 to https", resp, err)
	}

	l := startDoorLoad(addr, pool, 8)
	e.mustDeploy(hostApp("a", "a2", svc("a.test")))
	time.Sleep(500 * time.Millisecond) // some load on the new release
	l.stop()
	t.Logf("load during the deploy: %s", l)
	if l.sent.Load() < 100 || l.failed.Load() != 0 || l.bodies["hello from a2"] == 0 || l.bodies["hello from a1"] == 0 {
		t.Errorf("load during the deploy: %s; want 100+ requests, none failed, both releases seen", l)
	}
	if st := e.berth("status"); !strings.Contains(st.stdout, "hosts a.test (file, cert until") {
		t.Errorf("berth status does not show a's host:\n%s", st.stdout)
	}
	_, page, err := get(newClient(5*time.Second), fmt.Sprintf("http://127.0.0.1:%d/metrics", e.admin))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`berth_front_host_requests_total{app="a",host="a.test"}`, `berth_front_cert_expiry_timestamp_seconds{host="b.test"}`,
		`berth_front_host_errors_total{app="a",host="a.test"} 0`, `berth_scrape_source_up{source="hosts"} 1`} {
		if !strings.Contains(page, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// doorLoad is HTTPS clients on a.test, half over HTTP/2 and half over
// HTTP/1.1 keep-alive, counting bodies. Bounded in requests and time.
type doorLoad struct {
	cancel       context.CancelFunc
	done         sync.WaitGroup
	sent, failed atomic.Int64
	refused      atomic.Int64 // connection refused: the listening socket was gone
	mu           sync.Mutex
	bodies       map[string]int
	errs         []string
}

func startDoorLoad(addr string, pool *x509.CertPool, n int) *doorLoad {
	const maxRequests, maxTime = 200_000, 90 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), maxTime)
	l := &doorLoad{cancel: cancel, bodies: map[string]int{}}
	for i := range n {
		c := &http.Client{Timeout: 10 * time.Second, Transport: doorTransport(addr, pool, i%2 == 0)}
		l.done.Go(func() {
			defer c.CloseIdleConnections()
			for ctx.Err() == nil && l.sent.Load() < maxRequests {
				l.sent.Add(1)
				resp, err := c.Get("https://a.test/")
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				l.mu.Lock()
				if errors.Is(err, syscall.ECONNREFUSED) {
					l.refused.Add(1)
				}
				if err != nil || resp.StatusCode != 200 {
					l.failed.Add(1)
					if len(l.errs) < 5 {
						l.errs = append(l.errs, fmt.Sprintf("%v %q", err, body))
					}
				} else {
					l.bodies[strings.TrimSpace(string(body))]++
				}
				l.mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	return l
}

func (l *doorLoad) stop() { l.cancel(); l.done.Wait() }

func (l *doorLoad) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d sent, %d failed (%d refused), bodies %v, first errors %v", l.sent.Load(), l.failed.Load(), l.refused.Load(), l.bodies, l.errs)
}

// TestFrontDoorSurvivesFrontKill9 kills the front three times under HTTPS
// load on the front door: the daemon holds the door's sockets and hands
// them to the next front, which serves the stored routes and certificate
// at once, so no connection is refused.
func TestFrontDoorSurvivesFrontKill9(t *testing.T) {
	e := newEnv(t)
	plain, secure := freePort(t), freePort(t)
	e.stopDaemon(syscall.SIGTERM)
	conf := fmt.Sprintf("[front]\nhttp = \"127.0.0.1:%d\"\nhttps = \"127.0.0.1:%d\"\n", plain, secure)
	if err := os.WriteFile(filepath.Join(e.home, "daemon.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	e.startDaemon()
	certFile, keyFile, pool := doorCert(t, e.home, "a.test")
	e.mustDeploy(hostApp("a", "a1", fmt.Sprintf("[service]\nhosts = [\"a.test\"]\ntls = { cert = %q, key = %q }\n", certFile, keyFile)))
	l := startDoorLoad(fmt.Sprintf("127.0.0.1:%d", secure), pool, 4)
	defer l.stop()
	for range 3 {
		time.Sleep(500 * time.Millisecond)
		old := e.frontPID()
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		e.eventually(10*time.Second, "a new front serves", func() error {
			b, err := os.ReadFile(filepath.Join(e.home, "run", "front", "front.pid"))
			if err != nil {
				return err
			}
			next, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			if next == old || !alive(next) {
				return fmt.Errorf("front pid %d", next)
			}
			return nil
		})
	}
	time.Sleep(500 * time.Millisecond)
	l.stop()
	t.Logf("front kill -9 x3 under HTTPS load on the door: %s", l)
	if l.refused.Load() != 0 || l.bodies["hello from a1"] == 0 {
		t.Errorf("load across front kills: %s; want 0 refused", l)
	}
}

// TestFrontDoorCertFailureIsAnEvent deploys an app whose host asks for
// ACME certificates on a daemon without [front.acme]: the deploy goes
// live, the host gets no certificate (no handshake succeeds), and the
// failure reaches the journal as a cert.failed event and berth status.
func TestFrontDoorCertFailureIsAnEvent(t *testing.T) {
	e := newEnv(t)
	plain, secure := freePort(t), freePort(t)
	e.stopDaemon(syscall.SIGTERM)
	conf := fmt.Sprintf("[front]\nhttp = \"127.0.0.1:%d\"\nhttps = \"127.0.0.1:%d\"\n", plain, secure)
	if err := os.WriteFile(filepath.Join(e.home, "daemon.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	e.startDaemon()
	e.mustDeploy(hostApp("c", "c1", "[service]\nhosts = [\"c.test\"]\ntls = \"acme\"\n"))
	if conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", secure), &tls.Config{ServerName: "c.test", InsecureSkipVerify: true}); err == nil {
		conn.Close()
		t.Errorf("handshake for c.test succeeded without a certificate of its own")
	}
	e.eventually(20*time.Second, "a cert.failed event", func() error {
		r := e.berth("events", "--json", "-n", "50")
		if !strings.Contains(r.stdout, "cert.failed") || !strings.Contains(r.stdout, "no [front.acme]") {
			return fmt.Errorf("events:\n%s", r.stdout)
		}
		return nil
	})
	if st := e.berth("status"); !strings.Contains(st.stdout, "c.test (acme, CERT FAILED") {
		t.Errorf("berth status does not show the failure:\n%s", st.stdout)
	}
}

// TestFrontDoorSurvivesUpgrade upgrades berth twice under HTTPS load on
// the front door (HTTP/2 and HTTP/1.1 keep-alive): the door's sockets go
// to the new front with the apps' ones, the old front's door stops
// accepting and drains, so no request fails and no connection is refused,
// and the new front serves the same certificate.
func TestFrontDoorSurvivesUpgrade(t *testing.T) {
	t.Parallel()
	v2 := berthV2(t)
	e := newEnv(t)
	plain, secure := freePort(t), freePort(t)
	e.stopDaemon(syscall.SIGTERM)
	conf := fmt.Sprintf("[front]\nhttp = \"127.0.0.1:%d\"\nhttps = \"127.0.0.1:%d\"\n", plain, secure)
	if err := os.WriteFile(filepath.Join(e.home, "daemon.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	e.startDaemon()
	certFile, keyFile, pool := doorCert(t, e.home, "a.test")
	e.mustDeploy(hostApp("a", "a1", fmt.Sprintf("[service]\nhosts = [\"a.test\"]\ntls = { cert = %q, key = %q }\n", certFile, keyFile)))
	l := startDoorLoad(fmt.Sprintf("127.0.0.1:%d", secure), pool, 4)
	defer l.stop()
	for i, bin := range []string{v2, berthBin} {
		time.Sleep(500 * time.Millisecond)
		old := e.frontPID()
		if r := e.berth("upgrade", bin); r.code != 0 {
			t.Fatalf("upgrade %d to %s: %s\ndaemon log:\n%s", i, bin, r, e.daemonLog())
		}
		if got := e.frontPID(); got == old {
			t.Fatalf("upgrade %d: front pid %d not replaced", i, got)
		}
		e.eventually(40*time.Second, "the old front exits", func() error {
			if alive(old) {
				return fmt.Errorf("front %d still runs", old)
			}
			return nil
		})
	}
	time.Sleep(500 * time.Millisecond)
	l.stop()
	t.Logf("2 upgrades under HTTPS load on the door: %s", l)
	if l.failed.Load() != 0 || l.refused.Load() != 0 || l.bodies["hello from a1"] < 100 {
		t.Errorf("load across upgrades: %s; want 100+ answers, 0 failed, 0 refused", l)
	}
}
