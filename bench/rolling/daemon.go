package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchd"
	"github.com/berth-dev/berth/internal/api"
)

// daemon is the benchmark's berth daemon with this benchmark's helpers.
type daemon struct{ *benchd.Daemon }

func startDaemon(ctx context.Context, exe string) (*daemon, error) {
	b, err := benchd.Start(ctx, exe, "rolling")
	if err != nil {
		return nil, err
	}
	return &daemon{b}, nil
}

// rollSpec is the benchmark app: the sample agent (berth itself) with n
// instances, rolled one new instance at a time.
func rollSpec(version, listen string, n int) string {
	var b strings.Builder
	b.WriteString("version = 1\nname = \"roll\"\n\n[run]\ncommand = [\"./agent\", \"sample-agent\"]\n")
	fmt.Fprintf(&b, "env = { VERSION = %q, MODE = \"good\" }\nstop_timeout = \"5s\"\n", version)
	if os.Geteuid() == 0 {
		b.WriteString("user = \"root\"\n") // no berth-roll system user for a benchmark
	}
	fmt.Fprintf(&b, "\n[service]\nlisten = %q\n\n", listen)
	fmt.Fprintf(&b, "[deploy]\nstrategy = \"rolling\"\ninstances = %d\nmax_surge = 1\nmax_unavailable = 0\n", n)
	b.WriteString("healthy_after = 2\nverify_for = \"500ms\"\ndrain_timeout = \"5s\"\nmax_latency_rise = 0.0\n\n")
	b.WriteString("[[checks]]\nname = \"up\"\ntype = \"http\"\npath = \"/up\"\ninterval = \"100ms\"\ntimeout = \"1s\"\nretries = 3\nstart_period = \"2s\"\n")
	return b.String()
}

// deploy writes release version of the app and deploys it.
func (d *daemon) deploy(ctx context.Context, version, listen string, n int) (time.Duration, string, error) {
	dir := filepath.Join(d.Home.Root, "src", version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, "", fmt.Errorf("writing release %s: %w", version, err)
	}
	spec := []byte(rollSpec(version, listen, n))
	file := filepath.Join(dir, "berth.toml")
	if err := os.WriteFile(file, spec, 0o644); err != nil {
		return 0, "", fmt.Errorf("writing release %s: %w", version, err)
	}
	if agent := filepath.Join(dir, "agent"); !exists(agent) {
		if err := benchd.CopyFile(d.Exe, agent); err != nil {
			return 0, "", fmt.Errorf("writing release %s: %w", version, err)
		}
	}
	dep, err := d.Client.Deploy(ctx, api.DeployRequest{SpecFile: file, Spec: spec}, nil)
	return dep.EndedAt.Sub(dep.StartedAt), dep.Outcome, err
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }
