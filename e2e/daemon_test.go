package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestDaemonKill9 kills the daemon with SIGKILL: agents live on under the
// keeper (same pids), the proxy returns with a new daemon, and a worker's
// output written while no daemon ran is all in its log, in order.
func TestDaemonKill9(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	e.mustDeploy(app{name: "svc", version: "v1", mode: "good", listen: port})
	e.waitAnswer(port, "hello from v1")
	e.mustDeploy(app{name: "wrk", version: "v1", noChecks: true,
		command: []string{"/bin/sh", "-c", "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.01; done"}})

	svc, wrk := e.liveInstance("svc"), e.liveInstance("wrk")
	if svc.PID == 0 || wrk.PID == 0 {
		t.Fatalf("no pids before the kill: svc %+v, wrk %+v", svc, wrk)
	}
	logFile := filepath.Join(e.home, "logs", "wrk", wrk.Color+".log")
	e.eventually(10*time.Second, "worker writes its log", func() error {
		if _, last := lineNumbers(logFile); last < 20 {
			return fmt.Errorf("%s: last line %d", logFile, last)
		}
		return nil
	})

	e.stopDaemon(syscall.SIGKILL)
	_, atKill := lineNumbers(logFile)
	time.Sleep(time.Second) // the worker writes ~100 lines with no daemon
	if !alive(svc.PID) || !alive(wrk.PID) {
		t.Fatalf("agents died with the daemon: svc pid %d alive %v, wrk pid %d alive %v",
			svc.PID, alive(svc.PID), wrk.PID, alive(wrk.PID))
	}
	e.startDaemon()
	e.waitAnswer(port, "hello from v1")

	for _, c := range []struct {
		name string
		pid  int
	}{{"svc", svc.PID}, {"wrk", wrk.PID}} {
		if got := e.liveInstance(c.name).PID; got != c.pid {
			t.Errorf("%s: pid %d after the daemon's restart, want %d (the same process)", c.name, got, c.pid)
		}
	}
	e.eventually(10*time.Second, "worker's log goes on past the kill window", func() error {
		if _, last := lineNumbers(logFile); last < atKill+150 {
			return fmt.Errorf("last line %d, killed at %d", last, atKill)
		}
		return nil
	})
	nums, _ := lineNumbers(logFile)
	for i := 1; i < len(nums); i++ {
		if nums[i] != nums[i-1]+1 {
			t.Errorf("log %s: line %d follows line %d (kill at line %d)", logFile, nums[i], nums[i-1], atKill)
		}
	}
	if len(nums) == 0 || nums[0] != 1 {
		t.Errorf("log %s does not start at line 1: %v", logFile, nums[:min(len(nums), 3)])
	}
}

var outLine = regexp.MustCompile(`^\S+ out line (\d+)$`)

// lineNumbers reads the numbers of "line N" outputs from an instance log.
func lineNumbers(path string) (nums []int, last int) {
	for _, l := range readLines(path) {
		if m := outLine.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			nums = append(nums, n)
		}
	}
	if len(nums) > 0 {
		last = nums[len(nums)-1]
	}
	return nums, last
}

// TestDaemonRestartBetweenDeploys: a clean daemon restart keeps the live
// color and release, and deploys go on working after it.
func TestDaemonRestartBetweenDeploys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := app{name: "rst", version: "v1", mode: "good", listen: port}
	e.mustDeploy(a)
	a.version = "v2"
	e.mustDeploy(a)
	before := e.status("rst")

	e.stopDaemon(syscall.SIGTERM)
	e.startDaemon()
	after := e.status("rst")
	if after.Live != before.Live || after.Release != before.Release {
		t.Errorf("after restart live %s release %s, want %s %s", after.Live, after.Release, before.Live, before.Release)
	}
	e.waitAnswer(port, "hello from v2")

	a.version = "v3"
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v3")
}

// TestSocketModeAndNoDaemon: the control socket is not open to everyone,
// and the CLI says "no daemon" (exit 4) when none runs.
func TestSocketModeAndNoDaemon(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fi, err := os.Stat(filepath.Join(e.home, "run", "berth.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("berth.sock mode %v is not a socket", fi.Mode())
	}
	if perm := fi.Mode().Perm(); perm&^0o660 != 0 {
		t.Errorf("berth.sock mode %#o, want 0660 or stricter", perm)
	}

	empty, err := os.MkdirTemp("", "be2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(empty) })
	if r := runBerth(empty, "status"); r.code != 4 {
		t.Errorf("berth status with no daemon: want exit 4, got %s", r)
	}
	e.stopDaemon(syscall.SIGTERM)
	if r := e.berth("status"); r.code != 4 {
		t.Errorf("berth status after the daemon stopped: want exit 4, got %s", r)
	}
}
