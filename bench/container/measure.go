package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// row is one line of the table.
type row struct {
	runtime, metric, value string
}

// spec is the berth.toml of the sample agent on rt (a process of the
// static agent binary, or a container of its image).
func (b *bench) spec(rt, name, version string, listen int) string {
	run := fmt.Sprintf("command = [%q]\nuser = \"root\"\n", filepath.Join(b.tmp, "img", "agent"))
	if rt == "docker" {
		run = "runtime = \"docker\"\nimage = \"berth-bench-agent:1\"\n"
	}
	return fmt.Sprintf(`version = 1
name = %q

[run]
%senv = { VERSION = %q, HOST = "0.0.0.0" }
stop_timeout = "3s"

[service]
listen = "127.0.0.1:%d"

[deploy]
strategy = "bluegreen"
healthy_after = 1
verify_for = "0s"
drain_timeout = "2s"

[[checks]]
name = "up"
type = "http"
path = "/up"
interval = "100ms"
timeout = "1s"
`, name, run, version, listen)
}

func (b *bench) deploy(ctx context.Context, rt, name, version string, listen int) (time.Duration, error) {
	dir := filepath.Join(b.tmp, "src", name+"-"+version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	p := filepath.Join(dir, "berth.toml")
	if err := os.WriteFile(p, []byte(b.spec(rt, name, version, listen)), 0o644); err != nil {
		return 0, err
	}
	t0 := time.Now()
	out, err := b.berth(ctx, "deploy", "-f", p)
	d := time.Since(t0)
	if b.verbose {
		fmt.Fprintf(os.Stderr, "%s %s (%s):\n%s\n", name, version, ms(d), out)
	}
	return d, err
}

// measure times deploys of the agent on rt, then the latency through the
// proxy and straight to the live instance.
func (b *bench) measure(ctx context.Context, rt string, o opts) ([]row, error) {
	name := "b" + rt
	listen, err := freePort()
	if err != nil {
		return nil, err
	}
	b.apps = append(b.apps, name)
	if _, err := b.deploy(ctx, rt, name, "v0", listen); err != nil {
		return nil, err
	}
	var ds []time.Duration
	for i := 1; i <= o.deploys; i++ {
		d, err := b.deploy(ctx, rt, name, fmt.Sprintf("v%d", i), listen)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	slices.Sort(ds)
	port, err := b.livePort(ctx, name)
	if err != nil {
		return nil, err
	}
	pm, p99, err := latency(listen, o.requests)
	if err != nil {
		return nil, err
	}
	dm, d99, err := latency(port, o.requests)
	if err != nil {
		return nil, err
	}
	return []row{
		{rt, fmt.Sprintf("blue-green deploy (CLI), median of %d (min, max)", len(ds)), fmt.Sprintf("%s (%s, %s)", ms(ds[len(ds)/2]), ms(ds[0]), ms(ds[len(ds)-1]))},
		{rt, fmt.Sprintf("GET / through the proxy, median (p99) of %d", o.requests), fmt.Sprintf("%s (%s)", us(pm), us(p99))},
		{rt, "GET / to the instance directly (baseline), median (p99)", fmt.Sprintf("%s (%s)", us(dm), us(d99))},
		{rt, "proxy overhead, median", us(pm - dm)},
	}, nil
}

func (b *bench) livePort(ctx context.Context, name string) (int, error) {
	out, err := b.berth(ctx, "status", name, "--json")
	if err != nil {
		return 0, err
	}
	var apps []struct {
		Instances []struct {
			Port int  `json:"port"`
			Live bool `json:"live"`
		} `json:"instances"`
	}
	if err := json.Unmarshal([]byte(out), &apps); err != nil {
		var one struct {
			Instances []struct {
				Port int  `json:"port"`
				Live bool `json:"live"`
			} `json:"instances"`
		}
		if err2 := json.Unmarshal([]byte(out), &one); err2 != nil {
			return 0, fmt.Errorf("reading status: %w: %s", err, out)
		}
		apps = append(apps, one)
	}
	for _, a := range apps {
		for _, in := range a.Instances {
			if in.Live && in.Port != 0 {
				return in.Port, nil
			}
		}
	}
	return 0, fmt.Errorf("no live instance in %s", out)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/1e6) }
func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/1e3) }

func printTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| runtime | metric | measured |")
	fmt.Fprintln(w, "| --- | --- | --- |")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s |\n", r.runtime, r.metric, strings.ReplaceAll(r.value, "|", "\\|"))
	}
}
