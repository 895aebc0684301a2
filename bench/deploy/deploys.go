package main

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchd"
	"github.com/berth-dev/berth/internal/state"
)

// loadRun is one run of consecutive deploys under wrk load.
type loadRun struct {
	label     string
	strategy  string
	deploys   int
	succeeded int
	took      []time.Duration // each deploy, start to end
	switches  []time.Duration
	cut       int // history: requests cut at the end of a drain
	w         wrkResult
	reasons   []string // why deploys failed, first few
}

func loadSpec(name, version, strategy string) appSpec {
	return appSpec{name: name, version: version, strategy: strategy, healthyAfter: 2,
		verifyFor: "1s", interval: "100ms", drainTimeout: "5s"}
}

// deploysUnderLoad deploys v2, v1, v2, ... n times while wrk loads the
// app's proxy, and counts what wrk saw.
// With steady > 0 it first measures the same load with no deploy running:
// the baseline for the throughput seen during deploys.
func deploysUnderLoad(ctx context.Context, o *opts, d *daemon, name, strategy string, n int, steady time.Duration) (loadRun, wrkResult, error) {
	r := loadRun{label: strategy, strategy: strategy, deploys: n}
	var base wrkResult
	addr, err := benchd.FreeAddr()
	if err != nil {
		return r, base, err
	}
	s := loadSpec(name, "v1", strategy)
	s.listen = addr
	if _, err := d.deploy(ctx, s); err != nil {
		return r, base, fmt.Errorf("first deploy of %s: %w", name, err)
	}
	if steady > 0 {
		w, err := startWrk(o.tmp, "http://"+addr+"/", o.conns, steady)
		if err != nil {
			return r, base, err
		}
		time.Sleep(steady)
		if base, err = w.stop(); err != nil {
			return r, base, err
		}
	}
	// Bounded: wrk ends by itself well after the slowest plausible run.
	w, err := startWrk(o.tmp, "http://"+addr+"/", o.conns, time.Duration(n)*15*time.Second+time.Minute)
	if err != nil {
		return r, base, err
	}
	time.Sleep(500 * time.Millisecond)
	for i := 1; i <= n && ctx.Err() == nil; i++ {
		s.version = []string{"v1", "v2"}[i%2]
		dep, err := d.deploy(ctx, s)
		if err != nil && !failed(err) {
			_, _ = w.stop()
			return r, base, fmt.Errorf("deploy %d of %s: %w", i, name, err)
		}
		r.record(dep, err)
		if i%10 == 0 || i == n {
			fmt.Printf("  %s: %d/%d deploys, %d succeeded\n", strategy, i, n, r.succeeded)
		}
	}
	time.Sleep(500 * time.Millisecond) // let requests in flight land
	r.w, err = w.stop()
	return r, base, err
}

func (r *loadRun) record(dep state.Deployment, err error) {
	if err == nil && dep.Outcome == "succeeded" {
		r.succeeded++
	} else if len(r.reasons) < 3 {
		r.reasons = append(r.reasons, fmt.Sprintf("%s: %s", dep.Outcome, dep.Reason))
	}
	r.took = append(r.took, dep.EndedAt.Sub(dep.StartedAt))
	r.switches = append(r.switches, dep.SwitchTook)
	r.cut += dep.Cut
}

// deploysTable renders part 1: the steady baseline, blue-green and the
// restart control.
func deploysTable(o *opts, base wrkResult, runs []loadRun) string {
	t := &table{head: []string{"run", "deploys ok", "requests", "req/s", "req/s vs steady", "non-2xx",
		"connect", "read", "write", "timeout", "failed %", "deploy median", "deploy p90", "history cut"}}
	t.row("steady (no deploy)", "-", base.requests, f0(base.rps()), "1.00", base.non2xx,
		base.connect, base.read, base.write, base.timeout, pct(base.failed(), base.requests), "-", "-", "-")
	for _, r := range runs {
		t.row(fmt.Sprintf("%d x %s", r.deploys, r.label), fmt.Sprintf("%d/%d", r.succeeded, r.deploys),
			r.w.requests, f0(r.w.rps()), f2(r.w.rps()/base.rps()), r.w.non2xx,
			r.w.connect, r.w.read, r.w.write, r.w.timeout, pct(r.w.failed(), r.w.requests),
			ms(quantile(r.took, 0.5)), ms(quantile(r.took, 0.9)), r.cut)
	}
	return t.String() + fmt.Sprintf("\nwrk: %d keep-alive connections, -t2, unpaced (as fast as the machine allows), "+
		"through berth's proxy to GET /; a Lua script counts non-2xx answers, wrk counts socket errors. "+
		"Spec: healthy_after 2, check interval 100ms, verify_for 1s, drain_timeout 5s; versions alternate v1/v2. "+
		"The restart control runs fewer deploys (%d) because each one drops traffic anyway.\n", o.conns, o.restartN)
}
