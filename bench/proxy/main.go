// Command proxy benchmarks berth's proxy against no proxy, nginx and
// HAProxy in front of the same Go backend, with wrk, and prints (and
// writes into docs/benchmarks.md) a table of medians over interleaved
// rounds. Run it from the repository root:
//
//	go run ./bench/proxy
//
// It installs wrk, nginx-light and haproxy with apt-get when missing and
// only sends traffic to loopback.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/proxy/peers"
)

func main() {
	rounds := flag.Int("rounds", 5, "interleaved rounds per target and connection count")
	dur := flag.Duration("d", 5*time.Second, "measured length of one wrk run")
	warm := flag.Duration("warm", time.Second, "unmeasured warm-up before each run")
	doc := flag.String("doc", "docs/benchmarks.md", "markdown file whose \"## Proxy overhead\" section gets the table; empty to skip")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *rounds, *dur, *warm, *doc); err != nil {
		fmt.Fprintln(os.Stderr, "bench/proxy:", err)
		os.Exit(1)
	}
}

type target struct {
	name string
	url  string
}

type key struct {
	target string
	conns  int
}

func run(ctx context.Context, rounds int, dur, warm time.Duration, doc string) error {
	if err := ensureTools(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "berth-bench-proxy-")
	if err != nil {
		return fmt.Errorf("creating temp dir: %w", err)
	}
	defer os.RemoveAll(dir)

	targets, stopAll, err := startAll(ctx, dir)
	defer stopAll()
	if err != nil {
		return err
	}

	results := map[key][]result{}
	for round := 1; round <= rounds; round++ {
		// Reversing the order every other round keeps a fixed position
		// in the round (first after a pause, say) from favouring anyone.
		order := slices.Clone(targets)
		if round%2 == 0 {
			slices.Reverse(order)
		}
		for _, conns := range []int{50, 1} {
			for _, t := range order {
				if warm > 0 {
					if _, err := runWrk(ctx, t.url, conns, warm); err != nil {
						return err
					}
				}
				r, err := runWrk(ctx, t.url, conns, dur)
				if err != nil {
					return err
				}
				fmt.Printf("round %d  %-8s c=%-3d %9.0f req/s  p50 %-9v p99 %-9v errors %d\n",
					round, t.name, conns, r.rps, r.p50, r.p99, r.errors)
				results[key{t.name, conns}] = append(results[key{t.name, conns}], r)
			}
		}
	}
	table, verdict := render(targets, results, rounds, dur)
	fmt.Println()
	fmt.Print(table)
	fmt.Println(verdict)
	if doc != "" {
		return writeDoc(doc, table, verdict)
	}
	return nil
}

// startAll builds and starts the backend and the three proxies in front
// of it, each on its own loopback port.
func startAll(ctx context.Context, dir string) ([]target, func(), error) {
	var servers []*peers.Proc
	stopAll := func() {
		for _, s := range slices.Backward(servers) {
			s.Stop()
		}
	}
	for _, bin := range []string{"backend", "berthproxy"} {
		out, err := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, bin), "./bench/proxy/"+bin).CombinedOutput()
		if err != nil {
			return nil, stopAll, fmt.Errorf("building %s (run from the repository root): %w: %s", bin, err, out)
		}
	}
	ports := make([]string, 4)
	for i := range ports {
		p, err := peers.FreePort()
		if err != nil {
			return nil, stopAll, err
		}
		ports[i] = p
	}
	backend, berth, nginx, haproxy := ports[0], ports[1], ports[2], ports[3]
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(peers.NginxConfig(dir, nginx, backend)), 0o644); err != nil {
		return nil, stopAll, fmt.Errorf("writing nginx config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "haproxy.cfg"), []byte(haproxyConfig(haproxy, backend)), 0o644); err != nil {
		return nil, stopAll, fmt.Errorf("writing haproxy config: %w", err)
	}
	procs := []struct {
		name string
		args []string
	}{
		{"backend", []string{filepath.Join(dir, "backend"), "-listen", backend}},
		{"berth", []string{filepath.Join(dir, "berthproxy"), "-listen", berth, "-backend", backend}},
		{"nginx", []string{"nginx", "-p", dir, "-c", filepath.Join(dir, "nginx.conf")}},
		{"haproxy", []string{"haproxy", "-db", "-f", filepath.Join(dir, "haproxy.cfg")}},
	}
	for _, p := range procs {
		s, err := peers.Start(dir, p.name, "", "", p.args)
		if err != nil {
			return nil, stopAll, err
		}
		servers = append(servers, s)
	}
	targets := []target{
		{"direct", "http://" + backend + "/"},
		{"berth", "http://" + berth + "/"},
		{"nginx", "http://" + nginx + "/"},
		{"haproxy", "http://" + haproxy + "/"},
	}
	for _, t := range targets {
		if err := peers.WaitReady(ctx, t.url); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, t.name+".log"))
			return nil, stopAll, fmt.Errorf("%s not ready: %w\n%s", t.name, err, log)
		}
	}
	return targets, stopAll, nil
}

func median[T int | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// render builds the markdown table and the verdict line. The ratios to
// nginx are taken within each round, where both ran a few seconds apart
// under the same machine load, and their median is reported: the load
// drifts between rounds far more than within one.
func render(targets []target, results map[key][]result, rounds int, dur time.Duration) (string, string) {
	var b strings.Builder
	fmt.Fprintf(&b, "| target | conns | req/s (median) | p50 | p99 | req/s vs nginx | p99 vs nginx | errors |\n")
	fmt.Fprintf(&b, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	med := func(k key) (rps float64, p50, p99 time.Duration, errs int) {
		var rs []float64
		var a, c []time.Duration
		for _, r := range results[k] {
			rs, a, c = append(rs, r.rps), append(a, r.p50), append(c, r.p99)
			errs += r.errors
		}
		return median(rs), median(a), median(c), errs
	}
	// ratios returns the medians of the per-round ratios of k to nginx.
	ratios := func(k key) (rps, p99 float64) {
		n := results[key{"nginx", k.conns}]
		var rs, ps []float64
		for i, r := range results[k] {
			rs = append(rs, r.rps/n[i].rps)
			ps = append(ps, float64(r.p99)/float64(n[i].p99))
		}
		return median(rs), median(ps)
	}
	var verdicts []string
	for _, conns := range []int{50, 1} {
		for _, t := range targets {
			rps, p50, p99, errs := med(key{t.name, conns})
			rr, pr := ratios(key{t.name, conns})
			fmt.Fprintf(&b, "| %s | %d | %.0f | %v | %v | %.2f | %.2f | %d |\n",
				t.name, conns, rps, p50.Round(time.Microsecond), p99.Round(time.Microsecond), rr, pr, errs)
		}
		rr, pr := ratios(key{"berth", conns})
		verdicts = append(verdicts,
			verdict(rr >= 1, fmt.Sprintf("berth req/s >= nginx at %d conns (%.2fx)", conns, rr)),
			verdict(pr <= 1, fmt.Sprintf("berth p99 <= nginx p99 at %d conns (%.2fx)", conns, pr)))
	}
	fmt.Fprintf(&b, "\n%d interleaved rounds of %v wrk runs per cell, in reversed order every other round; req/s,\n"+
		"p50 and p99 are medians over the rounds, the ratios to nginx medians of the ratios within each\n"+
		"round. %d CPUs, %s/%s.\n", rounds, dur, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	return b.String(), strings.Join(verdicts, "\n")
}

func verdict(ok bool, what string) string {
	if ok {
		return "TARGET MET: " + what
	}
	return "TARGET MISSED: " + what
}
