// Command ab compares the proxy CPU per request of two berth proxies, one
// built from the last commit (old) and one from the working tree (new),
// and optionally nginx, in front of one backend. It alternates short wrk
// runs between them and reads each proxy's CPU time (utime+stime from
// /proc) around every run, so machine load hits both sides alike and the
// CPU per request is far steadier than req/s. Run it from the repository
// root:
//
//	go run ./bench/proxy/ab
//
// It needs wrk (and nginx for -nginx) and only sends traffic to loopback.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/proxy/peers"
)

func main() {
	rounds := flag.Int("rounds", 6, "alternating rounds")
	dur := flag.Duration("d", 3*time.Second, "length of one wrk run")
	conns := flag.Int("c", 50, "wrk connections")
	withNginx := flag.Bool("nginx", false, "also measure nginx in front of the same backend")
	newEnv := flag.String("new-env", "", "extra environment for the new proxy, e.g. GOGC=200")
	oldRev := flag.String("old", "HEAD", "git revision the old proxy is built from")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *rounds, *dur, *conns, *withNginx, *newEnv, *oldRev); err != nil {
		fmt.Fprintln(os.Stderr, "bench/proxy/ab:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, rounds int, dur time.Duration, conns int, withNginx bool, newEnv, oldRev string) error {
	dir, err := os.MkdirTemp("", "berth-bench-ab-")
	if err != nil {
		return fmt.Errorf("creating temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := build(ctx, dir, oldRev); err != nil {
		return err
	}
	var procs []*peers.Proc
	defer func() {
		for _, p := range slices.Backward(procs) {
			p.Stop()
		}
	}()
	addrs := make([]string, 4)
	for i := range addrs {
		if addrs[i], err = peers.FreePort(); err != nil {
			return err
		}
	}
	specs := []struct {
		name string
		env  string
		args []string
	}{
		{"backend", "", []string{filepath.Join(dir, "backend"), "-listen", addrs[0]}},
		{"old", "", []string{filepath.Join(dir, "old"), "-listen", addrs[1], "-backend", addrs[0]}},
		{"new", newEnv, []string{filepath.Join(dir, "new"), "-listen", addrs[2], "-backend", addrs[0]}},
	}
	if withNginx {
		conf := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(conf, []byte(peers.NginxConfig(dir, addrs[3], addrs[0])), 0o644); err != nil {
			return fmt.Errorf("writing nginx config: %w", err)
		}
		specs = append(specs, struct {
			name string
			env  string
			args []string
		}{"nginx", "", []string{"nginx", "-p", dir, "-c", conf}})
	}
	for i, s := range specs {
		p, err := peers.Start(dir, s.name, "http://"+addrs[i]+"/", s.env, s.args)
		if err != nil {
			return err
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		if err := peers.WaitReady(ctx, p.URL); err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	measured := procs[1:]
	cpu := map[string][]float64{}
	rps := map[string][]float64{}
	// What the rest of the chain spends per request, and how idle the
	// machine stayed: less CPU in the proxy helps only if it is not paid
	// for by the backend or the load generator.
	backendCPU := map[string][]float64{}
	wrkCPU := map[string][]float64{}
	idle := map[string][]float64{}
	for round := 1; round <= rounds; round++ {
		order := slices.Clone(measured)
		if round%2 == 0 {
			slices.Reverse(order)
		}
		for _, p := range order {
			before, beBefore := p.CPUTicks(), procs[0].CPUTicks()
			idleBefore, allBefore := idleTicks()
			n, secs, wrkSecs, err := runWrk(ctx, p.URL, conns, dur)
			if err != nil {
				return err
			}
			idleAfter, allAfter := idleTicks()
			used := float64(p.CPUTicks()-before) / peers.ClockTicks // seconds
			us := used / float64(n) * 1e6
			be := float64(procs[0].CPUTicks()-beBefore) / peers.ClockTicks / float64(n) * 1e6
			wk := wrkSecs / float64(n) * 1e6
			idlePct := 100 * float64(idleAfter-idleBefore) / float64(max(allAfter-allBefore, 1))
			cpu[p.Name] = append(cpu[p.Name], us)
			rps[p.Name] = append(rps[p.Name], float64(n)/secs)
			backendCPU[p.Name] = append(backendCPU[p.Name], be)
			wrkCPU[p.Name] = append(wrkCPU[p.Name], wk)
			idle[p.Name] = append(idle[p.Name], idlePct)
			fmt.Printf("round %d  %-6s %8.0f req/s  %6.1f µs CPU/req  backend %5.1f  wrk %5.1f  idle %4.1f%%\n",
				round, p.Name, float64(n)/secs, us, be, wk, idlePct)
		}
	}
	// The machine's load drifts between rounds, so the ratio to old is
	// taken within each round, where both saw the same load.
	fmt.Printf("\n| proxy | CPU µs/req (median) | req/s (median) | CPU vs old (median of rounds) | backend µs/req | wrk µs/req | machine idle |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, p := range measured {
		ratios := make([]float64, rounds)
		for i := range ratios {
			ratios[i] = cpu[p.Name][i] / cpu["old"][i]
		}
		fmt.Printf("| %s | %.1f | %.0f | %.2f | %.1f | %.1f | %.1f%% |\n", p.Name, median(cpu[p.Name]), median(rps[p.Name]), median(ratios),
			median(backendCPU[p.Name]), median(wrkCPU[p.Name]), median(idle[p.Name]))
	}
	fmt.Printf("\n%d alternating rounds of %v wrk runs at %d connections; old = %s, new = working tree %s\n",
		rounds, dur, conns, oldRev, newEnv)
	return nil
}

// build compiles the backend and both proxies into dir: new from the
// working tree, old from a git archive of rev.
func build(ctx context.Context, dir, rev string) error {
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", src, err)
	}
	sh := fmt.Sprintf("git archive %s | tar -x -C %s", rev, src)
	if out, err := exec.CommandContext(ctx, "sh", "-c", sh).CombinedOutput(); err != nil {
		return fmt.Errorf("extracting %s (run from the repository root): %w: %s", rev, err, out)
	}
	for _, b := range []struct{ out, pkg, dir string }{
		{"backend", "./bench/proxy/backend", "."},
		{"new", "./bench/proxy/berthproxy", "."},
		{"old", "./bench/proxy/berthproxy", src},
	} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, b.out), b.pkg)
		cmd.Dir = b.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %w: %s", b.out, err, out)
		}
	}
	return nil
}

// idleTicks returns the machine's idle and total CPU ticks from /proc/stat.
func idleTicks() (idle, all uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseUint(f, 10, 64)
		all += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return idle, all
}

// runWrk returns the requests served, the seconds wrk measured and the
// CPU seconds wrk itself used.
func runWrk(ctx context.Context, url string, conns int, d time.Duration) (int, float64, float64, error) {
	cmd := exec.CommandContext(ctx, "wrk", "-t", strconv.Itoa(min(conns, 2)), "-c", strconv.Itoa(conns),
		"-d", fmt.Sprintf("%ds", int(d.Seconds())), url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("running wrk on %s: %w: %s", url, err, out)
	}
	wrkSecs := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		// "  123456 requests in 3.00s, 12.34MB read"
		f := strings.Fields(sc.Text())
		if len(f) >= 4 && f[1] == "requests" && f[2] == "in" {
			n, _ := strconv.Atoi(f[0])
			secs, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSuffix(f[3], ","), "s"), 64)
			if n > 0 && secs > 0 {
				return n, secs, wrkSecs, nil
			}
		}
	}
	return 0, 0, 0, fmt.Errorf("reading wrk output for %s: %s", url, out)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
