package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hogAgent allocates 512 MB once (the first run leaves a mark in the shared
// directory), then idles.
const hogAgent = `import os, time
mark = os.path.join(os.environ["BERTH_SHARED"], "allocated")
if not os.path.exists(mark):
    open(mark, "w").close()
    print("allocating 512 MB", flush=True)
    hold = [b"\x01" * (64 << 20) for _ in range(8)]
    print("allocated 512 MB", flush=True)
while True:
    time.sleep(1)
`

// TestMemoryMaxThroughDeploy: memory_max in berth.toml reaches the keeper
// of the embedded runtime; an agent above it is OOM-killed, status and
// events say so, and the restart policy brings it back.
func TestMemoryMaxThroughDeploy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	log := filepath.Join(e.home, "logs", "keeper.log")
	e.eventually(10*time.Second, "the keeper logs where limits go", func() error {
		if b, _ := os.ReadFile(log); !strings.Contains(string(b), "resource limits") {
			return fmt.Errorf("no resource limits line in %s", log)
		}
		return nil
	})
	if b, _ := os.ReadFile(log); strings.Contains(string(b), "memory: none") {
		t.Skip("no memory controller delegated here: memory_max is not applied")
	}
	a := app{name: "hog", version: "v1", noChecks: true,
		command: []string{"python3", e.writeAgent("hog.py", hogAgent)}}
	p := e.write(a)
	spec := strings.Replace(a.spec(), "stop_timeout", "memory_max = \"128MiB\"\ntasks_max = 64\nstop_timeout", 1)
	if err := os.WriteFile(p, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	e.apps["hog"] = true
	r := e.berth("deploy", "-f", p)
	e.notePIDs("hog")
	t.Logf("deploy: exit %d", r.code)
	const oom = "signal: killed (out of memory: memory_max reached)"
	e.eventually(30*time.Second, "the OOM kill in status and a restart", func() error {
		st := e.status("hog")
		for _, in := range st.Instances {
			if in.LastExit == oom && in.State == "running" && in.Restarts >= 1 {
				return nil
			}
		}
		return fmt.Errorf("instances %+v", st.Instances)
	})
	ev := e.berth("events", "hog", "-n", "100")
	if !strings.Contains(ev.stdout, "out of memory") {
		t.Errorf("berth events does not say out of memory:\n%s", ev.stdout)
	}
	if logs := e.berth("logs", "hog", "-n", "50").stdout; strings.Contains(logs, "allocated 512 MB") {
		t.Errorf("the agent allocated 512 MB above memory_max 128MiB:\n%s", logs)
	}
}

// forkBomb forks without end once BOMB_TRIGGER exists, but only after
// checking that a pids limit of at most 256 applies to it: never a fork
// bomb without a limit.
const forkBomb = `import os, sys, time
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
print('waiting', flush=True)
while not os.path.exists(os.environ['BOMB_TRIGGER']):
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

// TestForkBombThroughDeploy: a worker deployed with tasks_max = 64 forks
// without end; berth status answers, another app serves under load, and
// berth stop ends every process of the bomb.
func TestForkBombThroughDeploy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	log := filepath.Join(e.home, "logs", "keeper.log")
	e.eventually(10*time.Second, "the keeper logs where limits go", func() error {
		if b, _ := os.ReadFile(log); !strings.Contains(string(b), "resource limits") {
			return fmt.Errorf("no resource limits line in %s", log)
		}
		return nil
	})
	if b, _ := os.ReadFile(log); strings.Contains(string(b), "pids: none") {
		t.Skip("no pids controller delegated here: no fork bomb without a limit")
	}
	port := freePort(t)
	e.mustDeploy(app{name: "calm", version: "v1", mode: "good", listen: port})
	e.waitAnswer(port, "hello from v1")

	trigger := filepath.Join(e.home, "bomb.go")
	a := app{name: "bomb", version: "v1", noChecks: true, env: map[string]string{"BOMB_TRIGGER": trigger},
		command: []string{"python3", e.writeAgent("bomb.py", forkBomb)}}
	p := e.write(a)
	spec := strings.Replace(a.spec(), "stop_timeout", "tasks_max = 64\nstop_timeout", 1)
	if err := os.WriteFile(p, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	e.apps["bomb"] = true
	if r := e.berth("deploy", "-f", p); r.code != 0 {
		t.Fatalf("deploy bomb: %s", r)
	}
	e.notePIDs("bomb")
	bomb := e.liveInstance("bomb")
	if err := os.WriteFile(trigger, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e.eventually(10*time.Second, "the bomb forks", func() error {
		if !strings.Contains(e.berth("logs", "bomb", "-n", "5").stdout, "bombing") {
			return fmt.Errorf("no 'bombing' line yet")
		}
		return nil
	})
	ld := startLoad(port, 2)
	var slowest time.Duration
	calls := 0
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		start := time.Now()
		if r := e.berth("status"); r.code != 0 {
			t.Errorf("berth status during the fork bomb: %s", r)
		}
		slowest = max(slowest, time.Since(start))
		calls++
	}
	ld.stop()
	procs := len(groupPIDs(bomb.PID))
	start := time.Now()
	if r := e.berth("stop", "bomb"); r.code != 0 {
		t.Fatalf("berth stop bomb: %s", r)
	}
	t.Logf("fork bomb: %d processes in its group; %d berth status calls, slowest %v; other app %d requests, %d failed; berth stop took %v",
		procs, calls, slowest, ld.sent.Load(), ld.failed.Load(), time.Since(start))
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests to the other app failed during the fork bomb; first: %v", f, ld.sent.Load(), ld.errs())
	}
	if procs > 64 {
		t.Errorf("the bomb had %d processes, above tasks_max 64", procs)
	}
	if left := groupPIDs(bomb.PID); len(left) > 0 {
		t.Errorf("processes of the bomb left after berth stop: %v", left)
	}
}

// groupPIDs lists the live processes of process group pgid.
func groupPIDs(pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, en := range entries {
		pid, err := strconv.Atoi(en.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", en.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			out = append(out, pid)
		}
	}
	return out
}
