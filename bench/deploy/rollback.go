package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchd"
	"github.com/berth-dev/berth/internal/state"
)

// prober sends GET /version back to back on one keep-alive connection and
// remembers when each request was sent and which version answered.
type prober struct {
	url     string
	mu      sync.Mutex
	samples []sample
	stop    chan struct{}
	done    chan struct{}
}

type sample struct {
	sent    time.Time
	version string // "" when the request failed
}

func startProber(url string) *prober {
	p := &prober{url: url, stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

func (p *prober) run() {
	defer close(p.done)
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer c.CloseIdleConnections()
	for {
		select {
		case <-p.stop:
			return
		default:
		}
		s := sample{sent: time.Now()}
		if resp, err := c.Get(p.url); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				s.version = strings.TrimSpace(string(b))
			}
		}
		p.mu.Lock()
		if len(p.samples) < 1<<20 { // bounded even if take is never called
			p.samples = append(p.samples, s)
		}
		p.mu.Unlock()
	}
}

// take returns the samples since the last take.
func (p *prober) take() []sample {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.samples
	p.samples = nil
	return s
}

func (p *prober) close() { close(p.stop); <-p.done }

// switchedAt is the send time of the first request after which every
// answer came from want; ok is false when the tail never got there.
// failures counts requests that got no 200 answer.
func switchedAt(ss []sample, want string) (at time.Time, ok bool, failures int) {
	last := -1
	for i, s := range ss {
		if s.version == "" {
			failures++
		}
		if s.version != want {
			last = i
		}
	}
	if last == len(ss)-1 {
		return time.Time{}, false, failures
	}
	return ss[last+1].sent, true, failures
}

// rbRow is one way of rolling back, measured over several rollbacks.
type rbRow struct {
	label    string
	toLive   []time.Duration // call start to 100% of new requests on the target version
	call     []time.Duration // call start to the call's return
	switches []time.Duration // Deployment.SwitchTook
	instant  int             // rollbacks that were a switch to a warm instance
	missed   int             // rollbacks whose target never answered 100% in the window
	failures int             // prober requests without a 200 answer
}

// rollbackFunc rolls app back (to "" = the previous release).
type rollbackFunc func(ctx context.Context, app, to string) (state.Deployment, error)

func (d *daemon) apiRollback(ctx context.Context, app, to string) (state.Deployment, error) {
	return d.Client.Rollback(ctx, app, to, nil)
}

// cliRollback runs `berth rollback APP` and reads the record from history.
func (d *daemon) cliRollback(ctx context.Context, app, to string) (state.Deployment, error) {
	args := []string{"--home", d.Home.Root, "rollback", app}
	if to != "" {
		args = append(args, "--to", to)
	}
	if out, err := exec.CommandContext(ctx, d.Exe, args...).CombinedOutput(); err != nil {
		return state.Deployment{}, fmt.Errorf("berth rollback: %w: %s", err, out)
	}
	h, err := d.Client.History(ctx, app, 1)
	if err != nil || len(h) == 0 {
		return state.Deployment{}, fmt.Errorf("reading history: %v", err)
	}
	return h[0], nil
}

// measureRollback times one rollback to want while p probes.
func measureRollback(ctx context.Context, p *prober, rb rollbackFunc, app, to, want string, row *rbRow) error {
	time.Sleep(30 * time.Millisecond)
	p.take()
	t0 := time.Now()
	dep, err := rb(ctx, app, to)
	call := time.Since(t0)
	if err != nil {
		return fmt.Errorf("rollback of %s: %w", app, err)
	}
	time.Sleep(200 * time.Millisecond) // the tail that must be all want
	at, ok, fails := switchedAt(p.take(), want)
	row.failures += fails
	row.call = append(row.call, call)
	row.switches = append(row.switches, dep.SwitchTook)
	if dep.Strategy == "switch" {
		row.instant++
	}
	if !ok {
		row.missed++
		return nil
	}
	row.toLive = append(row.toLive, max(at.Sub(t0), 0))
	return nil
}

// warmRollbacks deploys v1 then v2 (v1 stays warm) and rolls back and
// forth n times with each of the API client and the CLI.
func warmRollbacks(ctx context.Context, d *daemon, n int) ([]rbRow, error) {
	addr, err := benchd.FreeAddr()
	if err != nil {
		return nil, err
	}
	s := loadSpec("rb", "v1", "bluegreen")
	s.listen = addr
	for _, v := range []string{"v1", "v2"} {
		s.version = v
		if _, err := d.deploy(ctx, s); err != nil {
			return nil, fmt.Errorf("deploying rb %s: %w", v, err)
		}
	}
	p := startProber("http://" + addr + "/version")
	defer p.close()
	cur := "v2"
	var rows []rbRow
	for _, m := range []struct {
		label string
		rb    rollbackFunc
	}{{"warm, API client", d.apiRollback}, {"warm, CLI `berth rollback`", d.cliRollback}} {
		row := rbRow{label: m.label}
		for i := 0; i < n; i++ {
			want := map[string]string{"v1": "v2", "v2": "v1"}[cur]
			if err := measureRollback(ctx, p, m.rb, "rb", "", want, &row); err != nil {
				return rows, err
			}
			cur = want
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// coldRollbacks is the baseline: keep_warm = "0s", so a rollback installs
// nothing but must start, gate and verify the old release like a deploy.
func coldRollbacks(ctx context.Context, d *daemon, n int) (rbRow, error) {
	row := rbRow{label: "cold (keep_warm = \"0s\"), API client"}
	addr, err := benchd.FreeAddr()
	if err != nil {
		return row, err
	}
	s := loadSpec("rbcold", "v1", "bluegreen")
	s.listen, s.keepWarm = addr, "0s"
	first, err := d.deploy(ctx, s)
	if err != nil {
		return row, fmt.Errorf("deploying rbcold v1: %w", err)
	}
	p := startProber("http://" + addr + "/version")
	defer p.close()
	s.version = "v2"
	for i := 0; i < n; i++ {
		if _, err := d.deploy(ctx, s); err != nil {
			return row, fmt.Errorf("deploying rbcold v2: %w", err)
		}
		if err := measureRollback(ctx, p, d.apiRollback, "rbcold", first.Release, "v1", &row); err != nil {
			return row, err
		}
	}
	return row, nil
}

func rollbackTable(rows []rbRow) string {
	t := &table{head: []string{"rollback", "n", "to 100% old: median", "p90", "max", "call returned: median",
		"SwitchTook median", "SwitchTook p90", "instant", "missed", "failed requests"}}
	for _, r := range rows {
		t.row(r.label, len(r.call), ms(quantile(r.toLive, 0.5)), ms(quantile(r.toLive, 0.9)), ms(quantile(r.toLive, 1)),
			ms(quantile(r.call, 0.5)), ms(quantile(r.switches, 0.5)), ms(quantile(r.switches, 0.9)),
			r.instant, r.missed, r.failures)
	}
	return t.String() + "\n\"to 100% old\": from the call (API client: `Client.Rollback`; CLI: exec of the berth binary, " +
		"process start included) to the send time of the first request after which every answer came from the " +
		"rolled-back version; one client sends GET /version back to back through the proxy (resolution: one round trip). " +
		"Warm rollbacks alternate v2->v1->v2 (each rollback leaves the other version warm). " +
		"Cold: the baseline, the previous release is not running and is started, gated (healthy_after 2, interval 100ms) and switched to.\n"
}
