package keeper

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/runtime"
)

// needLimits skips unless the keeper can set ctrl's limit here (cgroup v2
// with the controller, or its v1 hierarchy), and returns the limiter.
func needLimits(t *testing.T, ctrl string) limiter {
	t.Helper()
	cg, err := detectCgroups()
	if err != nil {
		t.Skipf("no cgroup v2 here (%v)", err)
	}
	l := detectLimits(cg)
	if !l.v2[ctrl] && l.v1[ctrl] == "" {
		t.Skipf("no %s controller delegated here (%s)", ctrl, l)
	}
	return l
}

// pidsMaxOf reads the pids limit that applies to pid, from the cgroup
// /proc says it is in (v1 pids hierarchy, else the v2 tree): the fork bomb
// runs only once this is known to be set.
func pidsMaxOf(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		switch {
		case len(parts) != 3:
		case slices.Contains(strings.Split(parts[1], ","), "pids"):
			files = append(files, filepath.Join("/sys/fs/cgroup/pids", parts[2], "pids.max"))
		case parts[0] == "0":
			files = append(files, filepath.Join("/sys/fs/cgroup/unified", parts[2], "pids.max"),
				filepath.Join("/sys/fs/cgroup", parts[2], "pids.max"))
		}
	}
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
				return n
			}
		}
	}
	return -1
}

// otherApp starts a Python HTTP server under the keeper and returns its
// address once it answers.
func otherApp(t *testing.T, c *Client, dir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	in := agent(dir, uniqueID(t, "other"), "always", "python3", "-m", "http.server", "--bind", "127.0.0.1", port)
	if _, err := c.Start(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(15*time.Second, func() bool { return get(addr) == nil }) {
		t.Fatalf("other app on %s never answered", addr)
	}
	return addr
}

var quickClient = &http.Client{Timeout: 2 * time.Second}

func get(addr string) error {
	resp, err := quickClient.Get("http://" + addr + "/")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// probeFor calls the keeper's status of id and the other app every 50ms
// for d and returns the slowest status call and the other app's failures.
func probeFor(t *testing.T, c *Client, id, addr string, d time.Duration) (slowest time.Duration, calls, fails int) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		start := time.Now()
		if _, err := c.Status(t.Context(), id); err != nil {
			t.Errorf("keeper status during the fault: %v", err)
		}
		slowest = max(slowest, time.Since(start))
		calls++
		if err := get(addr); err != nil {
			fails++
			t.Logf("other app: %v", err)
		}
	}
	return slowest, calls, fails
}

// forkBomb forks without end once its trigger file exists, but only after
// checking that a pids limit of at most 256 applies to it (belt and braces
// with the test's own check): never a fork bomb without a limit.
const forkBomb = `
import os, sys, time
def limited():
    for line in open('/proc/self/cgroup'):
        n, ctrls, path = line.strip().split(':', 2)
        cands = []
        if 'pids' in ctrls.split(','):
            cands.append('/sys/fs/cgroup/pids' + path + '/pids.max')
        if n == '0':
            cands += ['/sys/fs/cgroup/unified' + path + '/pids.max', '/sys/fs/cgroup' + path + '/pids.max']
        for f in cands:
            try:
                v = open(f).read().strip()
            except OSError:
                continue
            if v.isdigit() and int(v) <= 256:
                return True
    return False
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
if not limited():
    print('no pids limit: not forking', flush=True)
    sys.exit(2)
print('bombing', flush=True)
end = time.monotonic() + 30
while time.monotonic() < end:
    try:
        os.fork()
    except OSError:
        time.sleep(0.05)
`

// TestFaultForkBomb: a fork bomb inside an instance stops at its
// tasks_max; the keeper and another app keep answering, and the stop ends
// every process of the bomb.
func TestFaultForkBomb(t *testing.T) {
	needLimits(t, "pids")
	c, dir, _ := newKeeperWith(t, containment{name: "cgroup"})
	addr := otherApp(t, c, dir)

	id := uniqueID(t, "bomb")
	trigger := filepath.Join(dir, "bomb.go")
	in := agent(dir, id, "always", "python3", "-c", forkBomb, trigger)
	in.TasksMax = 64
	in.StopTimeout = time.Second
	st, err := c.Start(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := pidsMaxOf(t, st.PID); got != 64 {
		t.Fatalf("pids limit of the bomb's instance is %d, want 64: not starting it", got)
	}
	if err := os.WriteFile(trigger, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(10*time.Second, func() bool { return len(children(st.PID)) > 0 }) {
		t.Fatalf("the bomb never forked; log: %q", readLog(t, in.LogPath))
	}
	slowest, calls, fails := probeFor(t, c, id, addr, 10*time.Second)
	t.Logf("during 10s of fork bomb: %d keeper status calls, slowest %v; other app failed %d of %d", calls, slowest, fails, calls)
	if fails > 0 {
		t.Errorf("the other app failed %d of %d requests during the fork bomb", fails, calls)
	}

	cg := filepath.Join(mustCgroups(t).base, id)
	procs := len(cgroupProcs(cg))
	start := time.Now()
	st, err = c.Stop(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stop of %d processes took %v; last exit %q", procs, time.Since(start), st.LastExit)
	if procs < 32 || procs > 64 {
		t.Errorf("the bomb had %d processes in its cgroup, want up to its limit of 64", procs)
	}
	if st.State != runtime.StateStopped {
		t.Errorf("state after Stop: %s, want stopped", st.State)
	}
	if left := cgroupProcs(cg); len(left) > 0 {
		t.Errorf("processes left in %s after Stop: %v", cg, left)
	}
	if err := get(addr); err != nil {
		t.Errorf("other app after the bomb: %v", err)
	}
}

func mustCgroups(t *testing.T) cgroups {
	cg, err := detectCgroups()
	if err != nil {
		t.Fatal(err)
	}
	return cg
}

// allocate waits for its trigger file, removes it and allocates 2 GB in
// touched 64 MB pieces; a run without the file just sleeps.
const allocate = `
import os, sys, time
if os.path.exists(sys.argv[1]):
    os.remove(sys.argv[1])
    print('allocating', flush=True)
    hold = [b'\x01' * (64 << 20) for _ in range(32)]
    print('allocated 2 GB', flush=True)
while True:
    time.sleep(1)
`

// TestFaultAllocate2GB: an instance that allocates 2 GB under memory_max
// of 256 MiB is OOM-killed inside its own cgroup; status and events say
// so, the restart policy restarts it, the keeper keeps answering.
func TestFaultAllocate2GB(t *testing.T) {
	needLimits(t, "memory")
	c, dir, _ := newKeeperWith(t, containment{name: "cgroup"})
	addr := otherApp(t, c, dir)

	id := uniqueID(t, "alloc")
	trigger := filepath.Join(dir, "alloc.go")
	if err := os.WriteFile(trigger, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	in := agent(dir, id, "on-failure", "python3", "-c", allocate, trigger)
	in.MemoryMax = 256 << 20
	if _, err := c.Start(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	slowest, calls, fails := probeFor(t, c, id, addr, 3*time.Second)
	t.Logf("during the allocation: %d keeper status calls, slowest %v; other app failed %d", calls, slowest, fails)
	if fails > 0 {
		t.Errorf("the other app failed %d of %d requests during the allocation", fails, calls)
	}
	const oom = "signal: killed (out of memory: memory_max reached)"
	st := waitStatus(t, c, id, "the restart after the OOM kill", func(st runtime.Status) bool {
		return st.State == runtime.StateRunning && st.Restarts == 1
	})
	if st.LastExit != oom {
		t.Errorf("last exit %q, want %q", st.LastExit, oom)
	}
	evs, err := c.Events(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		if ev.ID == id && ev.Kind == EventExited && strings.Contains(ev.Message, "out of memory") {
			found = true
			t.Logf("event: %s", ev.Message)
		}
	}
	if !found {
		t.Errorf("no exited event of %s says out of memory: %+v", id, evs)
	}
	if slices.Contains(readLog(t, in.LogPath), "stdout allocated 2 GB") {
		t.Errorf("the agent allocated 2 GB despite memory_max 256MiB")
	}
}
