// Command survive measures what berth's own crashes, restarts and
// upgrades cost the traffic of an app, next to the anchors that keep
// connections across a reload (nginx -s reload, HAProxy with expose-fd
// listeners) in front of the same backend, and berth's memory with 20
// agents. It prints one markdown table per part. Loopback only; every
// loop is bounded. Run from the repository root: go run ./bench/survive
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/proxy/peers"
)

func main() {
	n := flag.Int("n", 20, "events per scenario")
	gap := flag.Duration("gap", 300*time.Millisecond, "load time before each event and after the last")
	agents := flag.Int("agents", 20, "agents running when memory is read")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := runAll(ctx, *n, *gap, *agents); err != nil {
		fmt.Fprintln(os.Stderr, "bench/survive:", err)
		os.Exit(1)
	}
}

func runAll(ctx context.Context, n int, gap time.Duration, agents int) error {
	dir, err := os.MkdirTemp("", "bsurv-bin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	var bins [2]string
	for i, v := range []string{"survive-a", "survive-b"} {
		if bins[i], err = build(ctx, dir, "berth-"+v, v); err != nil {
			return err
		}
	}
	b, err := startBerth(ctx, bins[0])
	if err != nil {
		return err
	}
	defer b.close()
	listen, err := peers.FreePort()
	if err != nil {
		return err
	}
	if err := b.deploy(ctx, "surv", listen); err != nil {
		return err
	}
	backend, err := b.liveAgent(ctx, "surv")
	if err != nil {
		return err
	}
	url := "http://" + listen + "/"
	var runs []run
	for _, sc := range []func() (run, error){
		func() (run, error) { return killDaemons(ctx, b, url, n, gap) },
		func() (run, error) { return upgrades(ctx, b, url, bins, n, gap) },
		func() (run, error) { return killFronts(ctx, b, url, n, gap) },
		func() (run, error) { return nginxReloads(ctx, dir, backend, n, gap) },
		func() (run, error) { return haproxyReloads(ctx, dir, backend, n, gap) },
	} {
		r, err := sc()
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench/survive: %s: %d sent, %d failed, %d refused %v\n", r.name, r.sent, r.failed, r.refused, r.first)
		runs = append(runs, r)
	}
	m, err := memoryWith(ctx, b, 1, agents)
	if err != nil {
		return err
	}
	fmt.Print(survivalTable(runs, n, gap) + "\n" + memoryTable(m))
	return nil
}

func survivalTable(runs []run, n int, gap time.Duration) string {
	var s strings.Builder
	s.WriteString("| what happens under load | events | requests | failed | refused | how |\n| --- | ---: | ---: | ---: | ---: | --- |\n")
	for _, r := range runs {
		if r.skipped != "" {
			fmt.Fprintf(&s, "| %s | – | – | – | – | %s |\n", r.name, r.skipped)
			continue
		}
		fmt.Fprintf(&s, "| %s | %d | %d | %d | %d | %s |\n", r.name, r.events, r.sent, r.failed, r.refused, r.how)
	}
	fmt.Fprintf(&s, "\n%d clients loop GET / with keep-alive (Go's http.Client, 10 s timeout) against the app's address; "+
		"%d events per row, %s of load before each and after the last; a failed request is any error or non-200 answer, "+
		"refused is ECONNREFUSED among them. The anchors proxy to the live instance of berth's app: the same backend process.\n",
		loadClients, n, gap)
	return s.String()
}

func memoryTable(m memory) string {
	total := m.daemon.Add(m.front).Add(m.keeper)
	var s strings.Builder
	fmt.Fprintf(&s, "| berth's processes, %d agents running | RSS | PSS |\n| --- | ---: | ---: |\n", m.agents)
	for _, r := range []struct {
		name string
		m    mem
	}{{"daemon", m.daemon}, {"front", m.front}, {"keeper", m.keeper}, {"**total**", total}} {
		fmt.Fprintf(&s, "| %s | %s | %s |\n", r.name, mb(r.m.RSS), mb(r.m.PSS))
	}
	if m.distinct > 0 {
		fmt.Fprintf(&s, "| total, each physical page once | %s | |\n", mb(m.distinct))
	}
	fmt.Fprintf(&s, "\nTarget: under 64 MB in total. One app per agent (berth's sample agent), blue-green, 3 s to settle after the last deploy, "+
		"read after the scenarios above (the daemon has been killed, upgraded and re-executed by then). RSS is VmRSS, PSS is Pss "+
		"from smaps_rollup; the agents run the berth binary too, so shared pages are divided among more processes in PSS. "+
		"Each physical page once: the resident pages any of the three maps, counted by frame number (/proc/<pid>/pagemap, root only); "+
		"summed RSS counts the binary's shared pages once per process.\n")
	return s.String()
}
