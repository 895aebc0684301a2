// Command deploy benchmarks berth's deploys end to end on this machine:
// blue-green deploys under wrk load (against the restart strategy),
// instant rollback, long-lived streams across a deploy, the memory of the
// daemon and keeper with 20 agents, and deploy-to-live latency. It builds
// berth, runs a real daemon in a temporary home for each part, prints one
// table per part and a summary, and writes the tables into the "## Deploys"
// and "## Memory" sections of docs/benchmarks.md. Run it from the
// repository root:
//
//	go run ./bench/deploy          # the full run, about 6 minutes
//	go run ./bench/deploy -quick   # a short run, about 1.5 minutes, no doc
//	go run ./bench/deploy -only rollback,memory
//
// Traffic goes to loopback only. It installs wrk with apt-get when missing,
// and stops every process it started (apps via the API, the daemon and the
// keeper by PID).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchd"
)

// opts are the benchmark's knobs.
type opts struct {
	n, restartN        int
	rollbacks, cold    int
	streams, streamSec int
	apps, latencyRuns  int
	conns              int
	steady             time.Duration
	only               map[string]bool
	doc                string
	quick              bool
	tmp                string
}

var parts = []string{"deploys", "rollback", "streams", "memory", "latency"}

func main() {
	o := &opts{}
	flag.IntVar(&o.n, "n", 100, "blue-green deploys under load")
	flag.IntVar(&o.restartN, "restart-n", 20, "restart-strategy deploys under load (the control)")
	flag.IntVar(&o.rollbacks, "rollbacks", 20, "warm rollbacks per client (API client, CLI)")
	flag.IntVar(&o.cold, "cold", 3, "cold rollbacks (the baseline)")
	flag.IntVar(&o.streams, "streams", 50, "SSE streams open across a deploy")
	flag.IntVar(&o.streamSec, "stream-seconds", 15, "length of each SSE stream")
	flag.IntVar(&o.apps, "apps", 20, "apps running for the memory part")
	flag.IntVar(&o.latencyRuns, "latency-runs", 10, "deploys timed for deploy-to-live latency")
	flag.IntVar(&o.conns, "c", 4, "wrk connections")
	flag.DurationVar(&o.steady, "steady", 5*time.Second, "wrk run with no deploy: the throughput baseline")
	only := flag.String("only", "", "comma-separated parts to run: "+strings.Join(parts, ","))
	flag.StringVar(&o.doc, "doc", "docs/benchmarks.md", "markdown file that gets the \"## Deploys\" and \"## Memory\" sections; empty to skip (skipped with -quick or -only unless given)")
	flag.BoolVar(&o.quick, "quick", false, "a short run: fewer deploys, rollbacks, streams and apps")
	flag.Parse()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick {
		quick(o, set)
	}
	if *only != "" {
		o.only = map[string]bool{}
		for _, p := range strings.Split(*only, ",") {
			o.only[strings.TrimSpace(p)] = true
		}
	}
	if (o.quick || o.only != nil) && !set["doc"] {
		o.doc = ""
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/deploy:", err)
		os.Exit(1)
	}
}

// quick shrinks every count the user did not set.
func quick(o *opts, set map[string]bool) {
	for name, p := range map[string]*int{"n": &o.n, "restart-n": &o.restartN, "rollbacks": &o.rollbacks,
		"cold": &o.cold, "streams": &o.streams, "stream-seconds": &o.streamSec, "apps": &o.apps, "latency-runs": &o.latencyRuns} {
		if !set[name] {
			*p = map[string]int{"n": 10, "restart-n": 5, "rollbacks": 6, "cold": 1, "streams": 20,
				"stream-seconds": 8, "apps": 5, "latency-runs": 4}[name]
		}
	}
	if !set["steady"] {
		o.steady = 2 * time.Second
	}
}

func (o *opts) runs(part string) bool { return o.only == nil || o.only[part] }

// results collects each part's table and the summary's verdicts.
type results struct {
	deploys, memory []string // markdown blocks, in order
	verdicts        []verdict
}

func run(ctx context.Context, o *opts) error {
	start := time.Now()
	if o.runs("deploys") {
		if err := ensureWrk(); err != nil {
			return err
		}
	}
	var err error
	if o.tmp, err = os.MkdirTemp("", "bbench-bin-"); err != nil {
		return err
	}
	defer os.RemoveAll(o.tmp)
	exe, err := benchd.Build(ctx, o.tmp)
	if err != nil {
		return err
	}
	var res results
	steps := []struct {
		name string
		fn   func(context.Context, *opts, *daemon, *results) error
	}{{"deploys", partDeploys}, {"rollback", partRollback}, {"streams", partStreams},
		{"memory", partMemory}, {"latency", partLatency}}
	for _, s := range steps {
		if !o.runs(s.name) || ctx.Err() != nil {
			continue
		}
		d, err := startDaemon(ctx, exe)
		if err != nil {
			return err
		}
		err = s.fn(ctx, o, d, &res)
		d.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	caveat := fmt.Sprintf("Measured %s on %d CPUs (%s/%s, shared and noisy: wrk, the daemon, the proxy and the agents compete "+
		"for them), in %s. Compare ratios within one run, not absolute numbers across runs.",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Since(start).Round(time.Second))
	sum := summaryTable(res.verdicts)
	fmt.Printf("\n== summary\n\n%s\n%s\n", sum, caveat)
	if o.doc != "" {
		return writeDoc(o, res, sum, caveat)
	}
	return nil
}

func section(title, body string) string { return "### " + title + "\n\n" + body }

func partDeploys(ctx context.Context, o *opts, d *daemon, res *results) error {
	fmt.Printf("== 1. deploys under load: %d blue-green, then %d restart (the control)\n", o.n, o.restartN)
	bg, base, err := deploysUnderLoad(ctx, o, d, "bg", "bluegreen", o.n, o.steady)
	if err != nil {
		return err
	}
	rs, _, err := deploysUnderLoad(ctx, o, d, "rs", "restart", o.restartN, 0)
	if err != nil {
		return err
	}
	tab := deploysTable(o, base, []loadRun{bg, rs})
	if len(bg.reasons) > 0 {
		tab += "\nFailed blue-green deploys, first few: " + strings.Join(bg.reasons, "; ") + "\n"
	}
	fmt.Println("\n" + tab)
	res.deploys = append(res.deploys, section("Deploys under load", tab))
	res.verdicts = append(res.verdicts,
		verdict{"deploys", fmt.Sprintf("blue-green: failed requests during %d deploys", bg.deploys),
			fmt.Sprintf("%d of %d (non-2xx %d, socket %d)", bg.w.failed(), bg.w.requests, bg.w.non2xx, bg.w.socketErrors()),
			"0", metIf(bg.w.failed() == 0)},
		verdict{"deploys", "blue-green: deploys succeeded", fmt.Sprintf("%d/%d", bg.succeeded, bg.deploys),
			"all", metIf(bg.succeeded == bg.deploys)},
		verdict{"deploys", fmt.Sprintf("restart (control): failed requests during %d deploys", rs.deploys),
			fmt.Sprintf("%d of %d", rs.w.failed(), rs.w.requests), "-", "-"})
	return nil
}

func partRollback(ctx context.Context, o *opts, d *daemon, res *results) error {
	fmt.Printf("== 2. rollback: %d warm with the API client, %d with the CLI, %d cold (the baseline)\n", o.rollbacks, o.rollbacks, o.cold)
	rows, err := warmRollbacks(ctx, d, o.rollbacks)
	if err != nil {
		return err
	}
	if o.cold > 0 {
		cold, err := coldRollbacks(ctx, d, o.cold)
		if err != nil {
			return err
		}
		rows = append(rows, cold)
	}
	tab := rollbackTable(rows)
	fmt.Println("\n" + tab)
	res.deploys = append(res.deploys, section("Rollback", tab))
	for _, r := range rows[:2] {
		med := quantile(r.toLive, 0.5)
		res.verdicts = append(res.verdicts, verdict{"rollback", r.label + ": to 100% old, median (p90)",
			fmt.Sprintf("%s (%s), %d missed", ms(med), ms(quantile(r.toLive, 0.9)), r.missed), "< 50 ms",
			metIf(med < 50*time.Millisecond && r.missed == 0 && len(r.toLive) > 0)})
	}
	if len(rows) > 2 {
		res.verdicts = append(res.verdicts, verdict{"rollback", "cold rollback (baseline): to 100% old, median",
			ms(quantile(rows[2].toLive, 0.5)), "-", "-"})
	}
	return nil
}

func partStreams(ctx context.Context, o *opts, d *daemon, res *results) error {
	fmt.Printf("== 3. long-lived streams: %d SSE streams of %ds across a blue-green deploy, then a restart one\n", o.streams, o.streamSec)
	var runs []streamRun
	for _, st := range []string{"bluegreen", "restart"} {
		r, err := streamsDuringDeploy(ctx, d, "sse-"+st, st, o.streams, o.streamSec)
		if err != nil {
			return err
		}
		if r.firstErr != "" {
			fmt.Printf("  %s: first cut stream: %s\n", st, r.firstErr)
		}
		runs = append(runs, r)
	}
	tab := streamsTable(runs, o.streamSec)
	fmt.Println("\n" + tab)
	res.deploys = append(res.deploys, section("Long-lived streams", tab))
	bg := runs[0]
	res.verdicts = append(res.verdicts,
		verdict{"streams", fmt.Sprintf("blue-green: streams cut of %d", bg.streams),
			fmt.Sprintf("%d (history: %d drained, %d cut)", bg.cut, bg.drained, bg.hcut), "0", metIf(bg.cut == 0 && bg.hcut == 0)},
		verdict{"streams", fmt.Sprintf("restart (control): streams cut of %d", runs[1].streams),
			fmt.Sprint(runs[1].cut), "-", "-"})
	return nil
}

func partMemory(ctx context.Context, o *opts, d *daemon, res *results) error {
	fmt.Printf("== 4. memory: %d apps under one daemon\n", o.apps)
	r, err := memoryWithApps(ctx, d, o.apps)
	if err != nil {
		return err
	}
	tab := memoryTable(r)
	fmt.Println("\n" + tab)
	res.memory = append(res.memory, tab)
	total := r.berth()
	// The target is the machine's memory: each physical page once. The
	// three processes run one binary, and summed RSS counts each page of
	// it they share once per process; it is shown beside, with PSS.
	met := metIf(r.distinct > 0 && r.distinct < 64*1024)
	if r.distinct == 0 {
		met = "n/a (not root: pagemap hides frame numbers)"
	}
	res.verdicts = append(res.verdicts, verdict{"memory", fmt.Sprintf("daemon + keeper + front with %d agents, pages counted once (summed RSS; PSS)", o.apps),
		fmt.Sprintf("%s (%s; %s)", mb(r.distinct), mb(total.RSS), mb(total.PSS)), "< 64 MB", met})
	return nil
}

func partLatency(ctx context.Context, o *opts, d *daemon, res *results) error {
	fmt.Printf("== 5. deploy-to-live latency: %d deploys, verify_for = 0s\n", o.latencyRuns)
	r, err := deployToLive(ctx, d, o.latencyRuns)
	if err != nil {
		return err
	}
	tab := latencyTable(r)
	fmt.Println("\n" + tab)
	res.deploys = append(res.deploys, section("Deploy-to-live latency", tab))
	res.verdicts = append(res.verdicts, verdict{"latency", "deploy (CLI) minus agent start-up, medians",
		fmt.Sprintf("%s (deploy %s, agent %s)", ms(r.overhead()), ms(quantile(r.cli, 0.5)), ms(quantile(r.startup, 0.5))), "-", "-"})
	return nil
}
