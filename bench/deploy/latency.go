package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchd"
)

// latencyRun is part 5: deploy-to-live of a trivial agent against the
// agent's own start-up time.
type latencyRun struct {
	cli, server []time.Duration            // CLI wall time; the deployment's own StartedAt..EndedAt
	startup     []time.Duration            // the agent alone: exec to port accepting
	steps       map[string][]time.Duration // per step of the deployment, color removed
	order       []string
}

// agentStartup starts the sample agent directly, times exec to its port
// accepting a connection, and stops it.
func agentStartup(exe string) (time.Duration, error) {
	addr, err := benchd.FreeAddr()
	if err != nil {
		return 0, err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(exe, "sample-agent")
	cmd.Env = append(os.Environ(), "PORT="+port, "VERSION=v1", "MODE=good")
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting the sample agent: %w", err)
	}
	defer stopChild(cmd)
	for time.Since(start) < 10*time.Second {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			took := time.Since(start)
			c.Close()
			return took, nil
		}
		time.Sleep(200 * time.Microsecond)
	}
	return 0, fmt.Errorf("the sample agent did not accept on %s within 10s", addr)
}

// lostSIGTERMs counts sample agents that outlived a first SIGTERM by 3s
// (seen once in a full run: the agent had just started accepting).
var lostSIGTERMs atomic.Int32

// stopChild SIGTERMs an agent the benchmark started and waits for it,
// signalling again, then killing, if it does not go.
func stopChild(cmd *exec.Cmd) {
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	for i, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGTERM, syscall.SIGKILL} {
		_ = cmd.Process.Signal(sig)
		select {
		case <-done:
			return
		case <-time.After(3 * time.Second):
			if i == 0 {
				lostSIGTERMs.Add(1)
				fmt.Printf("  sample agent %d still runs 3s after SIGTERM; signalling again\n", cmd.Process.Pid)
			}
		}
	}
	<-done
}

// deployToLive deploys v1, v2, v1, ... (n measured, after one unmeasured
// first deploy) with the CLI and verify_for = "0s".
func deployToLive(ctx context.Context, d *daemon, n int) (latencyRun, error) {
	r := latencyRun{steps: map[string][]time.Duration{}}
	for i := 0; i < n; i++ {
		took, err := agentStartup(d.Exe)
		if err != nil {
			return r, err
		}
		r.startup = append(r.startup, took)
	}
	addr, err := benchd.FreeAddr()
	if err != nil {
		return r, err
	}
	s := appSpec{name: "lat", strategy: "bluegreen", listen: addr, healthyAfter: 1, verifyFor: "0s", interval: "20ms"}
	for i := 0; i <= n; i++ {
		s.version = []string{"v1", "v2"}[i%2]
		specFile, err := d.writeRelease(s)
		if err != nil {
			return r, err
		}
		t0 := time.Now()
		out, err := exec.CommandContext(ctx, d.Exe, "--home", d.Home.Root, "deploy", "-f", specFile).CombinedOutput()
		took := time.Since(t0)
		if err != nil {
			return r, fmt.Errorf("berth deploy %s: %w: %s", s.version, err, out)
		}
		if i == 0 {
			continue // the first deploy of an app has no live color: a different path
		}
		h, err := d.Client.History(ctx, "lat", 1)
		if err != nil || len(h) == 0 {
			return r, fmt.Errorf("reading history: %v", err)
		}
		r.cli = append(r.cli, took)
		r.server = append(r.server, h[0].EndedAt.Sub(h[0].StartedAt))
		for _, st := range h[0].Steps {
			name := strings.NewReplacer(" blue", "", " green", "").Replace(st.Name)
			if strings.HasPrefix(name, "bind ") {
				name = "bind (proxy already bound)"
			}
			if _, ok := r.steps[name]; !ok {
				r.order = append(r.order, name)
			}
			r.steps[name] = append(r.steps[name], st.Took)
		}
	}
	return r, nil
}

func (r latencyRun) overhead() time.Duration { return quantile(r.cli, 0.5) - quantile(r.startup, 0.5) }

func latencyTable(r latencyRun) string {
	t := &table{head: []string{"measure", "median", "p90", "min"}}
	row := func(name string, xs []time.Duration) {
		t.row(name, ms(quantile(xs, 0.5)), ms(quantile(xs, 0.9)), ms(slices.Min(xs)))
	}
	row("agent alone: exec to port accepting (baseline)", r.startup)
	row("`berth deploy` (CLI wall time, exec included)", r.cli)
	row("deployment record: started to ended (daemon side)", r.server)
	for _, name := range r.order {
		row("  step: "+name, r.steps[name])
	}
	t.row("**deploy minus agent start-up (medians)**", ms(r.overhead()), "", "")
	return t.String() + fmt.Sprintf("\n%d blue-green deploys of the sample agent alternating v1/v2 (after one first "+
		"deploy, not counted), each with `berth deploy -f` (CLI), verify_for = \"0s\" (the spec accepts 0), "+
		"healthy_after 1, check interval 20ms, the agent binary (%s) copied in each release. "+
		"The baseline starts the same agent directly %d times. Steps are from the deployment's record.\n",
		len(r.cli), "the berth binary", len(r.startup)) + lostNote()
}

func lostNote() string {
	if n := lostSIGTERMs.Load(); n > 0 {
		return fmt.Sprintf("\n%d directly started sample agent(s) ignored their first SIGTERM (stopped by a second one).\n", n)
	}
	return ""
}
