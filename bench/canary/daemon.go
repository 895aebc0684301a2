package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/bench/internal/benchd"
	"github.com/berth-dev/berth/internal/api"
)

// daemon is the benchmark's berth daemon with this benchmark's helpers.
type daemon struct{ *benchd.Daemon }

func startDaemon(ctx context.Context, exe string) (*daemon, error) {
	b, err := benchd.Start(ctx, exe, "canary")
	if err != nil {
		return nil, err
	}
	return &daemon{b}, nil
}

// release writes a release directory (spec and agent: berth itself, whose
// hidden sample-agent command is the agent) and returns the spec's path.
func (d *daemon) release(name, version, spec string) (string, error) {
	dir := filepath.Join(d.Home.Root, "src", name, version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating a release: %w", err)
	}
	file := filepath.Join(dir, "berth.toml")
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		return "", fmt.Errorf("writing a spec: %w", err)
	}
	return file, benchd.CopyFile(d.Exe, filepath.Join(dir, "agent"))
}

// deploy deploys the release at file; a deploy that ran and did not go
// live is not an error here: the caller reads its record.
func (d *daemon) deploy(ctx context.Context, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	_, err = d.Client.Deploy(ctx, api.DeployRequest{SpecFile: file, Spec: data}, nil)
	return err
}
