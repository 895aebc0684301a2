// Command tls benchmarks berth's front door (TLS, HTTP/2, host routing)
// against nginx with the same certificate in front of the same Go
// backend, and prints (and writes into docs/benchmarks.md) one table:
// TLS keep-alive req/s and p99, new TLS handshakes per second, HTTP/2
// multiplexed req/s, and host routing with 50 hosts against 1. Run it
// from the repository root:
//
//	go run ./bench/tls
//
// It needs wrk, h2load (nghttp2-client) and nginx-light, installing them
// with apt-get when missing, and only sends traffic to loopback.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/proxy/peers"
)

func main() {
	dur := flag.Duration("d", 5*time.Second, "measured length of one run")
	rounds := flag.Int("rounds", 3, "interleaved rounds; the median is reported")
	conns := flag.Int("c", 32, "keep-alive connections")
	doc := flag.String("doc", "docs/benchmarks.md", "markdown file whose \"## TLS front door\" section gets the table; empty to skip")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *dur, *rounds, *conns, *doc); err != nil {
		fmt.Fprintln(os.Stderr, "bench/tls:", err)
		os.Exit(1)
	}
}

func ensureTools() error {
	var missing []string
	for tool, pkg := range map[string]string{"wrk": "wrk", "h2load": "nghttp2-client", "nginx": "nginx-light"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	cmd := exec.Command("apt-get", append([]string{"install", "-y"}, missing...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("installing %v: %w: %s", missing, err, out)
	}
	return nil
}

// servers is what one run measures: berth's front and nginx, each serving
// "localhost" over TLS with the same certificate and backend.
type servers struct {
	berth, nginx string // https addresses
	berth50      string // a second front with 49 more hosts (one app each)
}

func run(ctx context.Context, dur time.Duration, rounds, conns int, doc string) error {
	if err := ensureTools(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "berth-bench-tls-")
	if err != nil {
		return fmt.Errorf("creating temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	for _, b := range [][2]string{{"berth", "./cmd/berth"}, {"backend", "./bench/proxy/backend"}} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, b[0]), b[1]).CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %w: %s", b[1], err, out)
		}
	}
	hosts := []string{"localhost"}
	for i := 1; i < 50; i++ {
		hosts = append(hosts, fmt.Sprintf("h%02d.test", i))
	}
	certFile, keyFile, err := writeCert(dir, hosts)
	if err != nil {
		return err
	}
	s, stop, err := start(ctx, dir, certFile, keyFile, hosts)
	if err != nil {
		return err
	}
	defer stop()
	res := map[string][]measure{}
	var ones, fifties []wrkResult
	for r := 0; r < rounds; r++ {
		for _, t := range []struct{ name, addr string }{{"berth", s.berth}, {"nginx", s.nginx}} {
			m, err := measureAll(ctx, t.addr, conns, dur)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			fmt.Fprintf(os.Stderr, "round %d %s: %+v\n", r+1, t.name, m)
			res[t.name] = append(res[t.name], m)
		}
		one, err := keepAlive(ctx, s.berth, conns, dur)
		if err != nil {
			return err
		}
		fifty, err := keepAlive(ctx, s.berth50, conns, dur)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "round %d hosts: 1 %+v, 50 %+v\n", r+1, one, fifty)
		ones, fifties = append(ones, one), append(fifties, fifty)
	}
	table := render(median(res["berth"]), median(res["nginx"]), medianWrk(ones), medianWrk(fifties), conns) +
		perRound(res["berth"], res["nginx"])
	fmt.Println(table)
	if doc == "" {
		return nil
	}
	return writeDoc(doc, table, rounds, dur)
}

// start runs the backend, berth's front and nginx.
func start(ctx context.Context, dir, certFile, keyFile string, hosts []string) (*servers, func(), error) {
	var procs []*peers.Proc
	stop := func() {
		for _, p := range procs {
			p.Stop()
		}
	}
	fail := func(err error) (*servers, func(), error) { stop(); return nil, nil, err }
	backend, err := peers.FreePort()
	if err != nil {
		return fail(err)
	}
	p, err := peers.Start(dir, "backend", "http://"+backend+"/", "", []string{filepath.Join(dir, "backend"), "-listen", backend})
	if err != nil {
		return fail(err)
	}
	procs = append(procs, p)
	if err := peers.WaitReady(ctx, p.URL); err != nil {
		return fail(err)
	}
	bf, bp, err := startFront(ctx, dir, "front", backend, certFile, keyFile)
	if err != nil {
		return fail(err)
	}
	procs = append(procs, bp)
	b50, bp50, err := startFront(ctx, dir, "front50", backend, certFile, keyFile)
	if err != nil {
		return fail(err)
	}
	procs = append(procs, bp50)
	if err := b50.routeMany(ctx, hosts[1:], certFile, keyFile); err != nil {
		return fail(err)
	}
	ng, np, err := startNginx(ctx, dir, backend, certFile, keyFile)
	if err != nil {
		return fail(err)
	}
	procs = append(procs, np)
	return &servers{berth: bf.addr, nginx: ng, berth50: b50.addr}, stop, nil
}

// nginxConf is peers.NginxConfig's set-up with TLS and HTTP/2 on the
// listener and the same certificate as berth.
func nginxConf(dir, listen, backend, certFile, keyFile string) string {
	// keepalive_requests: nginx closes a client connection after 1000
	// requests by default (HTTP/2 too), which would add handshakes to its
	// keep-alive numbers and stop h2load's connections; berth has no limit.
	conf := strings.Replace(peers.NginxConfig(dir, listen, backend), "access_log off;", "access_log off;\n    keepalive_requests 10000000;", 1)
	// "listen ... ssl http2": nginx 1.22 (Debian 12) has no "http2 on".
	tlsListen := fmt.Sprintf("listen %s ssl http2;\n        server_name localhost;\n"+
		"        ssl_certificate %s;\n        ssl_certificate_key %s;\n"+
		"        ssl_protocols TLSv1.2 TLSv1.3;\n        ssl_session_cache off;\n        ssl_session_tickets off;",
		listen, certFile, keyFile)
	return strings.Replace(conf, "listen "+listen+";", tlsListen, 1)
}

func startNginx(ctx context.Context, dir, backend, certFile, keyFile string) (string, *peers.Proc, error) {
	addr, err := peers.FreePort()
	if err != nil {
		return "", nil, err
	}
	nd := filepath.Join(dir, "nginx")
	if err := os.MkdirAll(nd, 0o755); err != nil {
		return "", nil, fmt.Errorf("creating nginx dir: %w", err)
	}
	conf := filepath.Join(nd, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(nd, addr, backend, certFile, keyFile)), 0o644); err != nil {
		return "", nil, fmt.Errorf("writing nginx.conf: %w", err)
	}
	p, err := peers.Start(dir, "nginx", "", "", []string{"nginx", "-c", conf, "-p", nd})
	if err != nil {
		return "", nil, err
	}
	if err := waitTLS(ctx, addr); err != nil {
		p.Stop()
		b, _ := os.ReadFile(filepath.Join(dir, "nginx.log"))
		return "", nil, fmt.Errorf("nginx: %w: %s", err, b)
	}
	return addr, p, nil
}
