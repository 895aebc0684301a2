package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tickApp is the sample agent with a sibling in its process group that
// prints "tick PID 1", "tick PID 2", ... every 10 ms to the same stdout, so
// a test can see whether any output line of a run is lost. tag marks its processes
// (FAULT_TAG) so orphans can be found whoever their parent is.
func tickApp(name, version string, port int, tag string) app {
	return app{
		name: name, version: version, mode: "good", listen: port,
		command: []string{"/bin/sh", "-c",
			// A shell's script is the shell's to expand, not berth's.
			`i=0; while :; do i=$((i+1)); echo "tick $$ $i"; sleep 0.01; done & exec "$0" sample-agent`, berthBin},
		env: map[string]string{"PATH": "/usr/bin:/bin", "FAULT_TAG": tag},
	}
}

var tickLine = regexp.MustCompile(`\btick (\d+) (\d+)$`)

// tickGaps reads the color's log and returns, for the run of the shell
// whose pid is pid, the tick numbers missing below the highest, how many
// came twice, and the highest.
func (e *env) tickGaps(name, color string, pid int) (missing []int, dups, top int) {
	r := e.berth("logs", name, "--color", color, "-n", "0")
	if r.code != 0 {
		e.t.Fatalf("berth logs %s --color %s: %s", name, color, r)
	}
	seen := map[int]bool{}
	for _, l := range strings.Split(r.stdout, "\n") {
		m := tickLine.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil || m[1] != strconv.Itoa(pid) {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		if seen[n] {
			dups++
		}
		seen[n] = true
		top = max(top, n)
	}
	for i := 1; i <= top && len(missing) < 20; i++ {
		if !seen[i] {
			missing = append(missing, i)
		}
	}
	return missing, dups, top
}

// killKeeper kills the keeper with SIGKILL and waits for the daemon to
// have started another.
func (e *env) killKeeper() {
	e.t.Helper()
	old := e.keeperPID()
	if old <= 0 {
		e.t.Fatal("no keeper.pid")
	}
	syscall.Kill(old, syscall.SIGKILL)
	e.eventually(20*time.Second, "a new keeper", func() error {
		if pid := e.keeperPID(); pid == old || !alive(pid) {
			return fmt.Errorf("keeper pid %d", pid)
		}
		return nil
	})
}

// colorPIDs returns the pid of each running color of name.
func (e *env) colorPIDs(name string) map[string]int {
	out := map[string]int{}
	for _, in := range e.status(name).Instances {
		if in.PID > 0 {
			out[in.Color] = in.PID
		}
	}
	return out
}

// TestKeeperKillReadopts: under load, kill -9 of the keeper with one color
// and with two colors running. The new keeper re-adopts the same processes
// (no restart), so no request fails; a deploy, a rollback and a stop then
// succeed, no process of the app is left, and every output line written
// across the crash is in `berth logs`.
func TestKeeperKillReadopts(t *testing.T) {
	t.Parallel()
	for _, colors := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d colors", colors), func(t *testing.T) {
			t.Parallel()
			testKeeperKillReadopts(t, colors)
		})
	}
}

func testKeeperKillReadopts(t *testing.T, colors int) {
	e := newEnv(t)
	port := freePort(t)
	name := fmt.Sprintf("ro%d", colors)
	tag := fmt.Sprintf("readopt-%d-%d", colors, time.Now().UnixNano())
	a := tickApp(name, "v1", port, tag)
	e.mustDeploy(a)
	if colors == 2 {
		a.version = "v2"
		e.mustDeploy(a)
	}
	want := "hello from " + a.version
	e.waitAnswer(port, want)
	before := e.colorPIDs(name)
	if len(before) != colors {
		t.Fatalf("running colors %v, want %d", before, colors)
	}
	ld := startLoad(port, 4)
	time.Sleep(500 * time.Millisecond)
	e.killKeeper()
	time.Sleep(500 * time.Millisecond) // ticks go on into the pipes

	after := e.colorPIDs(name)
	for color, pid := range before {
		if after[color] != pid {
			t.Errorf("%s: pid %d before the keeper's death, %d after: want it re-adopted", color, pid, after[color])
		}
	}
	st := e.berth("status", name)
	if !strings.Contains(st.stdout, "re-adopted after a keeper crash") {
		t.Errorf("berth status does not say the instances were re-adopted:\n%s", st.stdout)
	}
	if w := e.berth("why", name); !strings.Contains(w.stdout, "re-adopted") {
		t.Errorf("berth why does not say the instances were re-adopted:\n%s", w.stdout)
	}
	adopted := 0
	for _, ev := range e.events(name) {
		if ev.Kind == "instance.recovered" && strings.Contains(ev.Message, "re-adopted") {
			adopted++
		}
	}
	if adopted != colors {
		t.Errorf("%d instance.recovered events saying re-adopted, want %d", adopted, colors)
	}
	r := e.berth("events", "--json", "-n", "1000")
	if !strings.Contains(r.stdout, fmt.Sprintf("%d agents re-adopted with their output", colors)) {
		t.Errorf("no keeper.restarted event saying %d agents were re-adopted:\n%s", colors, r.stdout)
	}

	a.version = "v3"
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v3")
	if r := e.berth("rollback", name); r.code != 0 {
		t.Fatalf("berth rollback after a keeper crash: %s", r)
	}
	e.waitAnswer(port, want)
	ld.stop()
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed across the keeper crash; first: %v", f, ld.sent.Load(), ld.errs())
	}
	t.Logf("%d requests, %d failed", ld.sent.Load(), ld.failed.Load())

	e.notePIDs(name)
	if r := e.berth("stop", name); r.code != 0 {
		t.Fatalf("berth stop after a keeper crash: %s", r)
	}
	e.eventually(20*time.Second, "no process of the app left after stop", func() error {
		if pids := taggedPIDs(tag); len(pids) > 0 {
			return fmt.Errorf("processes %v left", pids)
		}
		return nil
	})
	for color, pid := range before {
		// exec keeps the shell's pid for the agent: the ticks carry it.
		missing, dups, top := e.tickGaps(name, color, pid)
		t.Logf("%s: ticks up to %d, %d written twice, missing %v", color, top, dups, missing)
		if top < 20 || len(missing) > 0 {
			t.Errorf("%s: ticks up to %d, missing %v", color, top, missing)
		}
	}
}

// TestKeeperKillMidDeploy: kill -9 of the keeper while a deploy gates the
// new color. The live color keeps serving (0 failed requests), the deploy
// succeeds, the next deploy too, and a stop leaves no process behind.
func TestKeeperKillMidDeploy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	tag := fmt.Sprintf("middeploy-%d", time.Now().UnixNano())
	a := tickApp("md", "v1", port, tag)
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v1")
	ld := startLoad(port, 4)

	a.version = "v2"
	done := make(chan result, 1)
	go func() { done <- e.deploy(a) }()
	e.eventually(20*time.Second, "the deploy's new color started", func() error {
		if len(e.colorPIDs("md")) < 2 {
			return fmt.Errorf("colors %v", e.colorPIDs("md"))
		}
		return nil
	})
	e.killKeeper()
	var r result
	select {
	case r = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the deploy did not end within 2 min of the keeper's death")
	}
	// The calls the deploy makes after its new color started are status
	// reads, which the client sends again to the next keeper.
	if r.code != 0 {
		t.Errorf("deploy across the keeper's death: %s", r)
	}
	live := e.liveInstance("md")
	if live.PID == 0 || !alive(live.PID) {
		t.Fatalf("after the deploy: live %+v is not running", live)
	}
	a.version = "v3"
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v3")
	ld.stop()
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed; first: %v", f, ld.sent.Load(), ld.errs())
	}
	t.Logf("%d requests, %d failed", ld.sent.Load(), ld.failed.Load())
	e.notePIDs("md")
	if r := e.berth("stop", "md"); r.code != 0 {
		t.Fatalf("berth stop: %s", r)
	}
	e.eventually(20*time.Second, "no process of the app left after stop", func() error {
		if pids := taggedPIDs(tag); len(pids) > 0 {
			return fmt.Errorf("processes %v left", pids)
		}
		return nil
	})
}

// TestKeeperAndDaemonKilled: kill -9 of the daemon, then of the keeper, so
// nobody holds the agents' pipes. The next daemon's keeper re-adopts the
// agents without their output (they serve on), says so, and the daemon
// replaces both colors with the app's strategy (the live one blue-green)
// with no failed request; a stop then leaves nothing behind.
func TestKeeperAndDaemonKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	tag := fmt.Sprintf("blind-%d", time.Now().UnixNano())
	a := tickApp("bl", "v1", port, tag)
	e.mustDeploy(a)
	a.version = "v2"
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v2")
	before := e.colorPIDs("bl")
	if len(before) != 2 {
		t.Fatalf("running colors %v, want 2", before)
	}
	kpid := e.keeperPID()
	e.stopDaemon(syscall.SIGKILL)
	syscall.Kill(kpid, syscall.SIGKILL)
	e.eventually(10*time.Second, "the keeper gone", func() error {
		if alive(kpid) {
			return fmt.Errorf("keeper %d alive", kpid)
		}
		return nil
	})
	for color, pid := range before {
		if !alive(pid) {
			t.Fatalf("%s pid %d died with the keeper and the daemon", color, pid)
		}
	}
	e.startDaemon()
	ld := startLoad(port, 4)
	e.eventually(90*time.Second, "both colors replaced by captured instances", func() error {
		for _, in := range e.status("bl").Instances {
			if in.OutputLost || in.PID == 0 || in.PID == before[in.Color] {
				return fmt.Errorf("%s: pid %d, output lost %v", in.Color, in.PID, in.OutputLost)
			}
		}
		return nil
	})
	e.waitAnswer(port, "hello from v2")
	ld.stop()
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed while berth replaced the blind instances; first: %v", f, ld.sent.Load(), ld.errs())
	}
	t.Logf("%d requests, %d failed", ld.sent.Load(), ld.failed.Load())
	lost, restarts := 0, 0
	for _, ev := range e.events("bl") {
		switch ev.Kind {
		case "instance.output_lost":
			lost++
		case "monitor.restart":
			restarts++
		}
	}
	// One restart of the live color replaces both: it deploys to the idle
	// (blind, warm) color, then stops the color it replaced.
	if lost != 2 || restarts < 1 {
		t.Errorf("%d instance.output_lost and %d monitor.restart events, want 2 and at least 1", lost, restarts)
	}
	e.notePIDs("bl")
	if r := e.berth("stop", "bl"); r.code != 0 {
		t.Fatalf("berth stop: %s", r)
	}
	e.eventually(20*time.Second, "no process of the app left after stop", func() error {
		if pids := taggedPIDs(tag); len(pids) > 0 {
			return fmt.Errorf("processes %v left", pids)
		}
		return nil
	})
}
