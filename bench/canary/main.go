// Command canary measures how fast berth takes traffic off a bad canary:
// the time from the canary's first bad answer to its weight 0, with the
// canary at 10% of an open-loop load of 500 requests per second (target:
// under 2 s). The baseline, measured in the same run, is a blue-green
// deploy of the same bad release: the time from its first bad answer to
// the switch back, judged by the verify window on the same proxy counters.
// It builds berth, runs a real daemon in a temporary home, prints one row
// per deploy and a summary. Run it from the repository root:
//
//	go run ./bench/canary            # 5 canaries and 3 blue-green baselines, about 1 minute
//	go run ./bench/canary -runs 10 -fail 100
//
// Traffic goes to loopback only; it stops every process it started.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchd"
	"github.com/berth-dev/berth/internal/state"
)

type opts struct {
	runs, baselines, rate, share, fail, instances, minRequests int
}

func main() {
	o := opts{}
	flag.IntVar(&o.runs, "runs", 5, "canary deploys of a bad release")
	flag.IntVar(&o.baselines, "baselines", 3, "blue-green deploys of the same bad release (the baseline)")
	flag.IntVar(&o.rate, "rate", 500, "requests per second (open loop)")
	flag.IntVar(&o.share, "share", 10, "the canary's first step, percent of requests")
	flag.IntVar(&o.fail, "fail", 30, "percent of the bad release's requests that fail")
	flag.IntVar(&o.instances, "instances", 2, "instances of each release")
	flag.IntVar(&o.minRequests, "min-requests", 50, "the canary's min_requests (50 is the default)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/canary:", err)
		os.Exit(1)
	}
}

// row is one bad deploy's measurement.
type row struct {
	strategy          string
	bad, reqs         int // the bad release's failed and all answers
	toZero, toLastReq time.Duration
	switchTook        time.Duration // the switch away, as the journal timed it
	outcome           string
}

func run(ctx context.Context, o opts) error {
	tmp, err := os.MkdirTemp("", "bcanary-build-")
	if err != nil {
		return fmt.Errorf("creating a build directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	exe, err := benchd.Build(ctx, tmp)
	if err != nil {
		return err
	}
	d, err := startDaemon(ctx, exe)
	if err != nil {
		return err
	}
	defer d.Close()
	addr, err := benchd.FreeAddr()
	if err != nil {
		return err
	}
	// One app: each bad deploy is rolled back, so the good release is
	// live again for the next, whichever strategy the bad one names.
	good, err := d.release(appName, "good", spec("good", "good", "canary", addr, o))
	if err != nil {
		return err
	}
	if err := d.deploy(ctx, good); err != nil {
		return fmt.Errorf("deploying the good release: %w", err)
	}
	var rows []row
	for i := range o.runs + o.baselines {
		strategy := "canary"
		if i >= o.runs {
			strategy = "bluegreen"
		}
		r, err := badDeploy(ctx, d, o, strategy, addr, i)
		if err != nil {
			return err
		}
		rows = append(rows, r)
		fmt.Fprintf(os.Stderr, "bench/canary: %s %d: %s to weight 0\n", strategy, i+1, r.toZero.Round(time.Millisecond))
	}
	report(o, rows)
	return nil
}

const appName = "canarybench"

// badDeploy deploys a bad release with strategy under load and measures
// how long it served.
func badDeploy(ctx context.Context, d *daemon, o opts, strategy, addr string, i int) (row, error) {
	version := fmt.Sprintf("bad%d", i)
	bad, err := d.release(appName, version, spec(version, "flaky", strategy, addr, o))
	if err != nil {
		return row{}, err
	}
	ld := startLoad("http://"+addr+"/", o.rate, 90*time.Second)
	time.Sleep(time.Second)
	derr := d.deploy(ctx, bad)
	time.Sleep(500 * time.Millisecond)
	as := ld.stop()
	if derr == nil {
		return row{}, fmt.Errorf("the bad release %s went live", version)
	}
	hist, err := d.Client.History(ctx, appName, 1)
	if err != nil || len(hist) == 0 {
		return row{}, fmt.Errorf("reading the history: %v", err)
	}
	return measure(strategy, version, hist[0], as)
}

// measure reads the bad release's answers and the deploy's record: the
// first 5xx the client saw, the moment the switch away from the bad
// release returned in the daemon (the journal's step), and the last
// request sent that the bad release still answered.
func measure(strategy, version string, dep state.Deployment, as []answer) (row, error) {
	r := row{strategy: strategy, outcome: dep.Outcome}
	var firstBad, lastReq time.Time
	for _, a := range as {
		fromBad := a.release == version || a.status >= 500
		if !fromBad {
			continue
		}
		r.reqs++
		if a.status >= 500 || a.err {
			r.bad++
			if firstBad.IsZero() || a.done.Before(firstBad) {
				firstBad = a.done
			}
		}
		if a.sent.After(lastReq) {
			lastReq = a.sent
		}
	}
	var zero time.Time
	for _, s := range dep.Steps {
		if s.Name == "canary weight 0" || strings.HasPrefix(s.Name, "rollback to ") {
			zero, r.switchTook = s.StartedAt.Add(s.Took), s.Took
		}
	}
	if firstBad.IsZero() || zero.IsZero() {
		return r, fmt.Errorf("%s deploy %s: no bad answer seen or no switch away recorded (outcome %s: %s)", strategy, dep.ID, dep.Outcome, dep.Reason)
	}
	r.toZero, r.toLastReq = zero.Sub(firstBad), lastReq.Sub(firstBad)
	return r, nil
}

func spec(version, mode, strategy, addr string, o opts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version = 1\nname = %q\n\n[run]\ncommand = [\"./agent\", \"sample-agent\"]\n", appName)
	fmt.Fprintf(&b, "env = { VERSION = %q, MODE = %q, FAIL_PERCENT = \"%d\" }\n", version, mode, o.fail)
	if os.Geteuid() == 0 {
		b.WriteString("user = \"root\"\n")
	}
	fmt.Fprintf(&b, "stop_timeout = \"5s\"\n\n[service]\nlisten = %q\n\n", addr)
	// The bounds are the defaults (a canary's max_error_rate 1% and, unless
	// -min-requests, min_requests 50; blue-green's 5% and 20); latency is
	// not judged.
	fmt.Fprintf(&b, "[deploy]\nstrategy = %q\ninstances = %d\nhealthy_after = 2\nverify_for = \"30s\"\ndrain_timeout = \"5s\"\nmax_latency_rise = 0.0\n", strategy, o.instances)
	fmt.Fprintf(&b, "\n[deploy.canary]\nsteps = [%d, 100]\nstep_for = \"30s\"\nmax_p99_ratio = 0.0\nmin_requests = %d\n", o.share, o.minRequests)
	b.WriteString("\n[[checks]]\nname = \"up\"\ntype = \"http\"\npath = \"/up\"\ninterval = \"200ms\"\ntimeout = \"1s\"\nretries = 3\nstart_period = \"2s\"\n")
	return b.String()
}

func report(o opts, rows []row) {
	fmt.Printf("\nA bad release (%d%% of its requests fail) at %d req/s, %d instance(s) per release, canary min_requests %d\n\n", o.fail, o.rate, o.instances, o.minRequests)
	fmt.Println("| run | strategy | bad release's answers | failed | first bad answer -> weight 0 | -> last request it got | switch took | outcome |")
	fmt.Println("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
	by := map[string][]time.Duration{}
	for i, r := range rows {
		share := "bluegreen (100%)"
		if r.strategy == "canary" {
			share = fmt.Sprintf("canary (%d%%)", o.share)
		}
		fmt.Printf("| %d | %s | %d | %d | %s | %s | %.2f ms | %s |\n", i+1, share, r.reqs, r.bad, msStr(r.toZero), msStr(r.toLastReq), float64(r.switchTook)/1e6, r.outcome)
		by[r.strategy] = append(by[r.strategy], r.toZero)
	}
	fmt.Println("\n| strategy | first bad answer -> weight 0, median | max | target | met |")
	fmt.Println("| --- | ---: | ---: | ---: | --- |")
	for _, s := range []string{"canary", "bluegreen"} {
		ds := by[s]
		if len(ds) == 0 {
			continue
		}
		slices.Sort(ds)
		target, met := "-", "-"
		if s == "canary" {
			target, met = "< 2 s", "no"
			if ds[len(ds)-1] < 2*time.Second {
				met = "yes"
			}
		}
		fmt.Printf("| %s | %s | %s | %s | %s |\n", s, msStr(ds[len(ds)/2]), msStr(ds[len(ds)-1]), target, met)
	}
}

func msStr(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/1e6) }
