package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// keeperPID reads the pid the running keeper wrote.
func (e *env) keeperPID() int {
	b, _ := os.ReadFile(filepath.Join(e.home, "run", "keeper", "keeper.pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// TestKeeperKillThenDeploy: under load, kill -9 of the keeper with two
// colors running; the daemon starts a new keeper and a deploy, a rollback
// and a stop of the app each succeed right after.
func TestKeeperKillThenDeploy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := app{name: "kk", version: "v1", mode: "good", listen: port}
	e.mustDeploy(a)
	a.version = "v2"
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v2")
	ld := startLoad(port, 4)

	old := e.keeperPID()
	if old <= 0 {
		t.Fatal("no keeper.pid")
	}
	syscall.Kill(old, syscall.SIGKILL)
	e.eventually(20*time.Second, "a new keeper", func() error {
		if pid := e.keeperPID(); pid == old || !alive(pid) {
			return fmt.Errorf("keeper pid %d", pid)
		}
		return nil
	})

	a.version = "v3"
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v3")
	if r := e.berth("rollback", "kk"); r.code != 0 {
		t.Fatalf("berth rollback after a keeper crash: %s", r)
	}
	e.waitAnswer(port, "hello from v2")
	ld.stop()
	// The new keeper re-adopts the agents (docs/keeper-protocol.md), so
	// the live one serves on; before, it stopped and restarted them.
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed across the keeper crash; first: %v", f, ld.sent.Load(), ld.errs())
	}
	e.notePIDs("kk")
	if r := e.berth("stop", "kk"); r.code != 0 {
		t.Fatalf("berth stop after a keeper crash: %s", r)
	}
	e.eventually(20*time.Second, "no agent left after stop", func() error {
		for _, in := range e.status("kk").Instances {
			if in.PID > 0 && alive(in.PID) {
				return fmt.Errorf("%s pid %d alive", in.Color, in.PID)
			}
		}
		return nil
	})
}
