// Command rolling benchmarks berth's rolling deploys and its balancing
// over N instances on this machine, and prints one table per part:
//
//   - rolling: n rolling deploys of 4 instances (max_surge 1,
//     max_unavailable 0) under load from Go clients: failed requests,
//     the least healthy capacity of the live set sampled every 10 ms
//     (from the daemon's API and each member's /up), and deploy duration
//     p50/p95. The target: 0 failed, capacity never below 4.
//   - balance: the proxy with a live set of 4 members against 1 (the
//     baseline, in the same run): req/s and p99.
//
// It builds berth, runs a real daemon in a temporary home, and writes the
// tables into the "## Rolling deploys" section of docs/benchmarks.md. Run
// it from the repository root:
//
//	go run ./bench/rolling           # 100 deploys, about 10 minutes
//	go run ./bench/rolling -n 10     # fewer deploys (CI, docs); no doc unless -doc is given
//	go run ./bench/rolling -only balance
//
// Traffic goes to loopback only; it stops every process it started.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchd"
)

// opts are the benchmark's knobs.
type opts struct {
	n, instances, conns int
	rounds              int
	d                   time.Duration
	only                map[string]bool
	doc                 string
}

func main() {
	o := &opts{}
	flag.IntVar(&o.n, "n", 100, "rolling deploys under load")
	flag.IntVar(&o.instances, "instances", 4, "instances of the app")
	flag.IntVar(&o.conns, "c", 4, "load clients (keep-alive)")
	flag.IntVar(&o.rounds, "rounds", 5, "balance: interleaved rounds per cell")
	flag.DurationVar(&o.d, "d", 3*time.Second, "balance: length of each round")
	only := flag.String("only", "", "comma-separated parts to run: rolling,balance")
	flag.StringVar(&o.doc, "doc", "docs/benchmarks.md", "markdown file that gets the \"## Rolling deploys\" section; empty to skip (skipped with -n or -only unless given)")
	flag.Parse()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *only != "" {
		o.only = map[string]bool{}
		for _, p := range strings.Split(*only, ",") {
			o.only[strings.TrimSpace(p)] = true
		}
	}
	if (set["n"] || o.only != nil) && !set["doc"] {
		o.doc = ""
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/rolling:", err)
		os.Exit(1)
	}
}

func (o *opts) wants(part string) bool { return o.only == nil || o.only[part] }

func run(ctx context.Context, o *opts) error {
	var out strings.Builder
	fmt.Fprintf(&out, "Measured %s on %d CPUs, %s/%s. The machine's cores are shared with other work: compare within one run.\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	if o.wants("rolling") {
		r, err := rolling(ctx, o)
		if err != nil {
			return err
		}
		s := r.table(o)
		fmt.Println(s)
		out.WriteString(s + "\n")
	}
	if o.wants("balance") {
		fmt.Printf("balance: %d rounds of %s per cell\n", o.rounds, o.d)
		runs, err := balance(ctx, o.rounds, 16, o.d)
		if err != nil {
			return err
		}
		s := balanceTable(runs, 16, o.d)
		fmt.Println(s)
		out.WriteString(s + "\n")
	}
	out.WriteString("Reproduce from the repository root: `go run ./bench/rolling` (`-n 10` for a short run; " +
		"`-only rolling|balance`). The Go benchmarks `go test -bench 'Forward' ./internal/proxy/` compare one " +
		"backend against a set of 4 on the request path alone.\n")
	if o.doc == "" {
		return nil
	}
	return writeSection(o.doc, "## Rolling deploys", out.String())
}

// rollResult is the rolling part's numbers.
type rollResult struct {
	deploys, succeeded int
	took               []time.Duration
	sent, failed       int64
	rps                float64
	ran                time.Duration // the load's length, which the sampler shares
	samples, readFails int
	least              int
	outcomes           []string // the first few that did not succeed
}

func rolling(ctx context.Context, o *opts) (rollResult, error) {
	var r rollResult
	tmp, err := os.MkdirTemp("", "broll-bin-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(tmp)
	exe, err := benchd.Build(ctx, tmp)
	if err != nil {
		return r, err
	}
	d, err := startDaemon(ctx, exe)
	if err != nil {
		return r, err
	}
	defer d.Close()
	addr, err := benchd.FreeAddr()
	if err != nil {
		return r, err
	}
	if _, _, err := d.deploy(ctx, "v0", addr, o.instances); err != nil {
		return r, fmt.Errorf("first deploy: %w", err)
	}
	limit := time.Duration(o.n)*time.Minute + time.Minute // bounded even when deploys hang
	l := startLoad("http://"+addr+"/", o.conns, false, limit)
	c := sampleCapacity(d.Client, "roll", limit)
	time.Sleep(500 * time.Millisecond)
	for i := 1; i <= o.n && ctx.Err() == nil; i++ {
		took, outcome, err := d.deploy(ctx, fmt.Sprintf("v%d", i), addr, o.instances)
		r.deploys++
		r.took = append(r.took, took)
		if err == nil && outcome == "succeeded" {
			r.succeeded++
		} else if len(r.outcomes) < 3 {
			r.outcomes = append(r.outcomes, fmt.Sprintf("deploy %d: %s %v", i, outcome, err))
		}
		if i%10 == 0 || i == o.n {
			fmt.Printf("  rolling: %d/%d deploys, %d succeeded, %d of %d requests failed\n", i, o.n, r.succeeded, l.failed.Load(), l.sent.Load())
		}
	}
	time.Sleep(500 * time.Millisecond) // requests in flight land
	r.samples, r.readFails, r.least = c.stop()
	for _, s := range c.low {
		fmt.Println("  capacity minimum at", s)
	}
	l.stop()
	r.sent, r.failed, r.rps, r.ran = l.sent.Load(), l.failed.Load(), l.rps(), l.took
	return r, nil
}

func (r rollResult) table(o *opts) string {
	t := &table{head: []string{"run", "deploys ok", "requests", "req/s", "failed", "capacity samples", "least healthy capacity", "floor", "deploy p50", "deploy p95"}}
	t.row(fmt.Sprintf("%d x rolling, %d instances", r.deploys, o.instances), fmt.Sprintf("%d/%d", r.succeeded, r.deploys),
		r.sent, fmt.Sprintf("%.0f", r.rps), r.failed, r.samples, r.least, o.instances, ms(quantile(r.took, 0.5)), ms(quantile(r.took, 0.95)))
	s := t.String() + fmt.Sprintf("\n%d keep-alive Go clients, unpaced, through berth's proxy to GET /. Spec: max_surge 1, "+
		"max_unavailable 0, healthy_after 2, check interval 100ms, verify_for 500ms (per batch). Capacity: every 10 ms the "+
		"live set is read from the daemon's API (GET /v1/apps/APP/live-set) and each member's /up probed; a sample counts "+
		"the members that answered (%d reads of the set failed); a sample takes time itself, so %d samples in %s are one "+
		"every %s on average. Deploy duration from the deployment's record.\n",
		o.conns, r.readFails, r.samples, r.ran.Round(time.Second), ms(r.ran/time.Duration(max(r.samples, 1))))
	if len(r.outcomes) > 0 {
		s += "\nNot succeeded: " + strings.Join(r.outcomes, "; ") + "\n"
	}
	verdict := "TARGET MET"
	if r.failed != 0 || r.least < o.instances || r.succeeded != r.deploys {
		verdict = "TARGET MISSED"
	}
	return s + fmt.Sprintf("\n```\n%s: %d failed requests (target 0), least healthy capacity %d (target >= %d)\n```\n", verdict, r.failed, r.least, o.instances)
}

// writeSection replaces the section that starts with header in the
// markdown file doc (up to the next "## "), or appends it.
func writeSection(doc, header, body string) error {
	b, err := os.ReadFile(doc)
	if err != nil {
		return fmt.Errorf("reading %s: %w", doc, err)
	}
	lines := strings.Split(string(b), "\n")
	start := slices.Index(lines, header)
	section := append([]string{header, ""}, strings.Split(strings.TrimRight(body, "\n"), "\n")...)
	section = append(section, "")
	if start < 0 {
		lines = append(append(lines[:len(lines):len(lines)], ""), section...)
	} else {
		end := len(lines)
		for i := start + 1; i < len(lines); i++ {
			if strings.HasPrefix(lines[i], "## ") {
				end = i
				break
			}
		}
		lines = append(append(slices.Clone(lines[:start]), section...), lines[end:]...)
	}
	if err := os.WriteFile(doc, []byte(strings.TrimRight(strings.Join(lines, "\n"), "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", doc, err)
	}
	return nil
}
