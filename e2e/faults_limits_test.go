package e2e

import (
	"fmt"
	"os"
	"path/filepath"
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
