// Package acmetest runs a real ACME server for tests: Pebble and
// pebble-challtestsrv (github.com/letsencrypt/pebble/v2, Go tools of this
// module), built with `go build` and run on loopback, with challtestsrv
// as the DNS server that answers 127.0.0.1 for every name. Nothing in
// berth's binary imports it.
package acmetest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Options say where Pebble validates challenges and how long the
// certificates it issues live.
type Options struct {
	HTTPPort, TLSPort int      // the ports of the server under test (port 80's and 443's stand-ins)
	Validity          int      // seconds; 0 = Pebble's 90 days
	Blocked           []string // names Pebble refuses to issue for
}

// Pebble is a running Pebble. Its fields are set once Start returns.
type Pebble struct {
	Directory string         // the ACME directory URL
	CAFile    string         // PEM root to trust for Pebble's own HTTPS
	Roots     *x509.CertPool // roots that verify the certificates Pebble issues
	RootsPEM  []byte
}

// Start builds and runs challtestsrv and Pebble for the test; both are
// killed (by PID) when the test ends.
func Start(t *testing.T, o Options) *Pebble {
	t.Helper()
	dir := t.TempDir()
	mod := goOut(t, "list", "-m", "-f", "{{.Dir}}", "github.com/letsencrypt/pebble/v2")
	for _, tool := range []string{"pebble", "pebble-challtestsrv"} {
		goOut(t, "build", "-o", filepath.Join(dir, tool), "github.com/letsencrypt/pebble/v2/cmd/"+tool)
	}
	dns, mgmt := FreePort(t), FreePort(t)
	run(t, dir, nil, filepath.Join(dir, "pebble-challtestsrv"), "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-dnsserver", "127.0.0.1:"+strconv.Itoa(dns), "-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "",
		"-management", "127.0.0.1:"+strconv.Itoa(mgmt))
	listen, manage := FreePort(t), FreePort(t)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":           "127.0.0.1:" + strconv.Itoa(listen),
		"managementListenAddress": "127.0.0.1:" + strconv.Itoa(manage),
		"certificate":             filepath.Join(mod, "test/certs/localhost/cert.pem"),
		"privateKey":              filepath.Join(mod, "test/certs/localhost/key.pem"),
		"httpPort":                o.HTTPPort,
		"tlsPort":                 o.TLSPort,
		"ocspResponderURL":        "",
		"domainBlocklist":         append([]string{"blocked-domain.example"}, o.Blocked...),
		"retryAfter":              map[string]int{"authz": 1, "order": 1},
		"profiles":                map[string]any{"default": map[string]any{"description": "berth test", "validityPeriod": validity(o.Validity)}},
	}}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"}
	run(t, dir, env, filepath.Join(dir, "pebble"), "-config", cfgFile, "-dnsserver", "127.0.0.1:"+strconv.Itoa(dns))
	p := &Pebble{Directory: fmt.Sprintf("https://127.0.0.1:%d/dir", listen), CAFile: filepath.Join(mod, "test/certs/pebble.minica.pem")}
	hc := p.client(t)
	waitOK(t, hc, p.Directory)
	p.RootsPEM = get(t, hc, fmt.Sprintf("https://127.0.0.1:%d/roots/0", manage))
	p.Roots = x509.NewCertPool()
	if !p.Roots.AppendCertsFromPEM(p.RootsPEM) {
		t.Fatalf("pebble /roots/0 is not PEM: %q", p.RootsPEM)
	}
	return p
}

func validity(s int) int {
	if s == 0 {
		return 90 * 24 * 3600
	}
	return s
}

func (p *Pebble) client(t *testing.T) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(p.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// FreePort returns a loopback port free a moment ago.
func FreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func goOut(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// run starts a process for the test's life; its output goes to the log
// file next to it, shown when the test fails.
func run(t *testing.T, dir string, env []string, bin string, args ...string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, filepath.Base(bin)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s output:\n%s", filepath.Base(bin), tail(b, 4000))
		}
	})
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func waitOK(t *testing.T, hc *http.Client, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s does not answer", url)
}

func get(t *testing.T, hc *http.Client, url string) []byte {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return b
}
