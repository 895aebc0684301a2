package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/bench/internal/benchd"
	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/state"
)

// daemon is the benchmark's berth daemon with this benchmark's helpers.
type daemon struct{ *benchd.Daemon }

func startDaemon(ctx context.Context, exe string) (*daemon, error) {
	b, err := benchd.Start(ctx, exe, "deploy")
	if err != nil {
		return nil, err
	}
	return &daemon{b}, nil
}

// appSpec is one benchmark app's berth.toml.
type appSpec struct {
	name, version, strategy string
	listen                  string
	healthyAfter            int
	verifyFor, interval     string
	drainTimeout, keepWarm  string
	stopTimeout             string
}

func (s appSpec) toml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "version = 1\nname = %q\n\n[run]\ncommand = [\"./agent\", \"sample-agent\"]\n", s.name)
	fmt.Fprintf(&b, "env = { VERSION = %q, MODE = \"good\" }\n", s.version)
	if os.Geteuid() == 0 {
		// Run as root rather than have berth create a berth-<name> user per app.
		b.WriteString("user = \"root\"\n")
	}
	fmt.Fprintf(&b, "stop_timeout = %q\n\n[service]\nlisten = %q\n\n", or(s.stopTimeout, "5s"), s.listen)
	fmt.Fprintf(&b, "[deploy]\nstrategy = %q\nhealthy_after = %d\nverify_for = %q\ndrain_timeout = %q\nkeep_warm = %q\n\n",
		s.strategy, s.healthyAfter, s.verifyFor, or(s.drainTimeout, "5s"), or(s.keepWarm, "until-next-deploy"))
	fmt.Fprintf(&b, "[[checks]]\nname = \"up\"\ntype = \"http\"\npath = \"/up\"\ninterval = %q\ntimeout = \"1s\"\nretries = 3\nstart_period = \"2s\"\n", s.interval)
	return b.String()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// writeRelease makes a release directory holding the spec and the agent
// (berth itself, whose hidden sample-agent command is the agent) and
// returns the spec's path.
func (d *daemon) writeRelease(s appSpec) (string, error) {
	dir := filepath.Join(d.Home.Root, "src", s.name, s.version+"-"+s.strategy)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	specFile := filepath.Join(dir, "berth.toml")
	if err := os.WriteFile(specFile, []byte(s.toml()), 0o644); err != nil {
		return "", err
	}
	agent := filepath.Join(dir, "agent")
	if _, err := os.Stat(agent); err == nil {
		return specFile, nil
	}
	return specFile, benchd.CopyFile(d.Exe, agent)
}

// deploy writes the release of s and deploys it through the API client.
func (d *daemon) deploy(ctx context.Context, s appSpec) (state.Deployment, error) {
	specFile, err := d.writeRelease(s)
	if err != nil {
		return state.Deployment{}, err
	}
	data, err := os.ReadFile(specFile)
	if err != nil {
		return state.Deployment{}, err
	}
	return d.Client.Deploy(ctx, api.DeployRequest{SpecFile: specFile, Spec: data}, nil)
}

// failed says whether err is a deploy that ran and did not go live (as
// opposed to a broken benchmark).
func failed(err error) bool {
	var ae *api.Error
	return errors.As(err, &ae) && ae.Code == api.CodeFailed
}
