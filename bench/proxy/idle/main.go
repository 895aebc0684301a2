// Command idle measures what an idle keep-alive client connection costs a
// proxy in resident memory: berth's (built from the working tree) and
// nginx's, in front of the same backend. For each proxy it opens -n
// client connections, sends one request on each and reads the answer,
// then holds them all open and compares the proxy's RSS (all processes
// of its group) with the RSS before. Run it from the repository root:
//
//	go run ./bench/proxy/idle [-n 3000]
//
// It needs nginx and only connects to loopback.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/bench/proxy/peers"
)

func main() {
	n := flag.Int("n", 3000, "idle client connections per proxy (nginx's set-up allows 4096 per worker)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *n); err != nil {
		fmt.Fprintln(os.Stderr, "bench/proxy/idle:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, n int) error {
	dir, err := os.MkdirTemp("", "berth-bench-idle-")
	if err != nil {
		return fmt.Errorf("creating temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	for _, b := range []struct{ out, pkg string }{
		{"backend", "./bench/proxy/backend"},
		{"berth", "./bench/proxy/berthproxy"},
	} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, b.out), b.pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s (run from the repository root): %w: %s", b.out, err, out)
		}
	}
	var addrs [3]string
	for i := range addrs {
		if addrs[i], err = peers.FreePort(); err != nil {
			return err
		}
	}
	backend, err := peers.Start(dir, "backend", "http://"+addrs[0]+"/", "", []string{filepath.Join(dir, "backend"), "-listen", addrs[0]})
	if err != nil {
		return err
	}
	defer backend.Stop()
	if err := peers.WaitReady(ctx, backend.URL); err != nil {
		return fmt.Errorf("backend: %w", err)
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(peers.NginxConfig(dir, addrs[2], addrs[0])), 0o644); err != nil {
		return fmt.Errorf("writing nginx config: %w", err)
	}
	proxies := []struct {
		name, addr string
		args       []string
	}{
		{"berth", addrs[1], []string{filepath.Join(dir, "berth"), "-listen", addrs[1], "-backend", addrs[0]}},
		{"nginx", addrs[2], []string{"nginx", "-p", dir, "-c", conf}},
	}
	fmt.Printf("| proxy | idle connections | RSS before | RSS with them open | per connection |\n| --- | ---: | ---: | ---: | ---: |\n")
	for _, px := range proxies {
		p, err := peers.Start(dir, px.name, "http://"+px.addr+"/", "", px.args)
		if err != nil {
			return err
		}
		line, err := measure(ctx, p, px.addr, n)
		p.Stop()
		if err != nil {
			return fmt.Errorf("%s: %w", px.name, err)
		}
		fmt.Println(line)
	}
	fmt.Printf("\nRSS of the proxy's process group (nginx: master and workers) from /proc; the backend's is not counted.\n")
	return nil
}

// measure opens n served keep-alive connections to p and returns its
// table row.
func measure(ctx context.Context, p *peers.Proc, addr string, n int) (string, error) {
	if err := peers.WaitReady(ctx, p.URL); err != nil {
		return "", err
	}
	time.Sleep(500 * time.Millisecond) // let start-up allocations settle
	before := p.RSS()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return "", fmt.Errorf("connection %d: %w", len(conns), err)
		}
		conns = append(conns, c)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return "", fmt.Errorf("connection %d: %w", len(conns), err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	time.Sleep(time.Second)
	after := p.RSS()
	return fmt.Sprintf("| %s | %d | %.1f MB | %.1f MB | %.0f B |", p.Name, n,
		float64(before)/(1<<20), float64(after)/(1<<20), float64(after-before)/float64(n)), nil
}
