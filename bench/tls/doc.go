package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

const heading = "## TLS front door"

func render(b, n measure, one, fifty wrkResult, conns int) string {
	ratio := func(x, y float64) string {
		if y == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", x/y)
	}
	var s strings.Builder
	s.WriteString("| measurement | berth front door | nginx | berth / nginx |\n| --- | ---: | ---: | ---: |\n")
	fmt.Fprintf(&s, "| TLS keep-alive HTTP/1.1, %d connections: req/s | %.0f | %.0f | %s |\n", conns, b.keepRPS, n.keepRPS, ratio(b.keepRPS, n.keepRPS))
	fmt.Fprintf(&s, "| TLS keep-alive HTTP/1.1: p99 | %v | %v | %s |\n", b.keepP99.Round(10*time.Microsecond), n.keepP99.Round(10*time.Microsecond),
		ratio(float64(b.keepP99), float64(n.keepP99)))
	fmt.Fprintf(&s, "| new TLS handshakes/s (a connection per request, 16 clients) | %.0f | %.0f | %s |\n", b.handshakes, n.handshakes, ratio(b.handshakes, n.handshakes))
	fmt.Fprintf(&s, "| HTTP/2, 4 connections x 32 streams: req/s | %.0f | %.0f | %s |\n", b.h2RPS, n.h2RPS, ratio(b.h2RPS, n.h2RPS))
	fmt.Fprintf(&s, "| berth host routing: 1 host, TLS keep-alive req/s (p99) | %.0f (%v) | | |\n", one.rps, one.p99.Round(10*time.Microsecond))
	fmt.Fprintf(&s, "| berth host routing: 50 hosts, TLS keep-alive req/s (p99) | %.0f (%v) | | 50/1: %s |\n", fifty.rps, fifty.p99.Round(10*time.Microsecond), ratio(fifty.rps, one.rps))
	fmt.Fprintf(&s, "| failed requests in all runs | %d | %d | |\n", b.errors+one.errors+fifty.errors, n.errors)
	return s.String()
}

// perRound says the keep-alive ratios of each round: the medians above
// come from different rounds, and on a shared machine the rounds differ.
func perRound(b, n []measure) string {
	var s strings.Builder
	s.WriteString("\nTLS keep-alive req/s, berth / nginx in each round:")
	for i := range min(len(b), len(n)) {
		if i > 0 {
			s.WriteByte(',')
		}
		fmt.Fprintf(&s, " %.2f", b[i].keepRPS/n[i].keepRPS)
	}
	s.WriteString(".\n")
	return s.String()
}

// writeDoc replaces the "## TLS front door" section of path (up to the
// next "## " heading), adding it when missing.
func writeDoc(path, table string, rounds int, d time.Duration) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	section := heading + "\n\n" +
		"berth's front door (`berth front`, daemon.toml `[front] https`, a route by host name with a\n" +
		"certificate from files) against nginx (`worker_processes auto`, `listen ... ssl http2`, upstream\n" +
		"`keepalive 64`, no TLS session cache or tickets, as berth has none) with the same ECDSA P-256\n" +
		"certificate, in front of the same small Go backend, over loopback. HTTP/1.1 with wrk, HTTP/2\n" +
		"with h2load. Medians of " + fmt.Sprint(rounds) + " interleaved rounds of " + d.String() + ". Host routing: a second front with\n" +
		"49 more hosts (one app each), measured in the same rounds. nginx gets `keepalive_requests\n" +
		"10000000` (its default closes a connection after 1000 requests). Measured " + time.Now().UTC().Format("2006-01-02") + ".\n\n" +
		"Caveat: 2 shared cores run the load generator, the server and the backend (and other\n" +
		"builds and tests), so compare ratios within one run only. The door terminates TLS with Go's\n" +
		"crypto/tls and serves HTTP/1.1 with the proxies' goroutine lane (`proxy.ClientConn`) and\n" +
		"HTTP/2 with net/http; without kTLS (this kernel has none) the epoll fast path of a plain\n" +
		"`listen` address cannot take TLS sockets.\n\n" +
		table + "\n" +
		"Where the door's time goes (perf CPU profiles of `berth front` under this load, 2026-12-07):\n" +
		"before the lane, net/http's server took half of it per keep-alive request; with the lane,\n" +
		"system calls are about 60% (writes to the client and the backend 36%, reads 19%, the pool's\n" +
		"`MSG_PEEK` check of a reused backend connection 5%), the Go scheduler and sysmon about 18%,\n" +
		"record encryption about 2% and the request parsing under 1%. What is left against nginx is\n" +
		"Go's poller: each read that finds nothing yet (the client's next request, the backend's\n" +
		"answer) costs a system call before the goroutine parks, where nginx reads only after epoll\n" +
		"reported data. HTTP/2 takes the proxy's fast backend path too, but stays on net/http's HTTP/2\n" +
		"server, which writes each stream's frames in their own TLS record and system call (about a\n" +
		"fifth of its CPU) and runs a goroutine per stream; nginx batches them.\n\n" +
		"Reproduce from the repository root: `go run ./bench/tls` (about 4 minutes; installs wrk,\n" +
		"nghttp2-client and nginx-light with apt-get when missing; `-rounds`, `-d`, `-c`, `-doc`).\n"
	text := string(old)
	start := strings.Index(text, heading+"\n")
	if start < 0 {
		if !strings.HasSuffix(text, "\n\n") {
			text += "\n"
		}
		return write(path, text+section)
	}
	end := len(text)
	if i := strings.Index(text[start+len(heading):], "\n## "); i >= 0 {
		end = start + len(heading) + i + 1
		section += "\n"
	}
	return write(path, text[:start]+section+text[end:])
}

func write(path, text string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	return nil
}
