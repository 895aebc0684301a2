package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLogsFollowAcrossSwitch: `berth logs -f APP` started on v1 goes on
// printing after a blue-green switch, the new live color's lines included,
// each line labelled with its color.
func TestLogsFollowAcrossSwitch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := app{name: "follow", version: "v1", mode: "good", listen: port}
	e.mustDeploy(a)
	first := e.status(a.name).Live

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	outPath := filepath.Join(t.TempDir(), "follow.out")
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.CommandContext(ctx, berthBin, "--home", e.home, "logs", "-f", "-n", "0", a.name)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	read := func() string { b, _ := os.ReadFile(outPath); return string(b) }
	e.eventually(10*time.Second, "v1's lines followed", func() error {
		if !strings.Contains(read(), first+" out sample agent v1") {
			return fmt.Errorf("output so far: %q", read())
		}
		return nil
	})

	a.version = "v2"
	e.mustDeploy(a)
	second := e.status(a.name).Live
	if second == first {
		t.Fatalf("live color stayed %s: no switch happened", first)
	}
	e.eventually(10*time.Second, "v2's lines followed after the switch", func() error {
		if !strings.Contains(read(), second+" out sample agent v2") {
			return fmt.Errorf("output so far: %q", read())
		}
		return nil
	})
}
