package systemd_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// bgSpec is app "bg" on the systemd runtime: each version is its own spec
// and release directory (/srv/bg/<version>), told apart by VERSION.
func bgSpec(version, mode string) string {
	return fmt.Sprintf(`version = 1
name = "bg"

[run]
command = ["/usr/local/bin/berth", "sample-agent"]
env = { VERSION = %q, MODE = %q }
runtime = "systemd"
stop_timeout = "3s"

[service]
listen = "127.0.0.1:8082"

[deploy]
healthy_after = 2
verify_for = "2s"
drain_timeout = "5s"
min_requests = 0

[[checks]]
name = "up"
type = "http"
path = "/up"
interval = "200ms"
timeout = "1s"
retries = 2
start_period = "2s"
`, version, mode)
}

var bgUnits = []string{"berth-bg@blue.service", "berth-bg@green.service"}

// testBlueGreen deploys through the daemon (berth.service) an app whose
// agents are systemd units: v1, then v2 with both units active while the
// deploy runs, a warm rollback to v1, v2 again, a v3 that never becomes
// healthy (v2 keeps serving), and a rollback to v1 by release id (v3 took
// its warm color: it starts anew). A plain `berth rollback` there would go
// to the first copy of v2, the newest release older than the live one.
func testBlueGreen(t *testing.T, box *Box) {
	if _, err := box.Exec(context.Background(), "curl", "--version"); err != nil {
		t.Skip("curl is not installed")
	}
	for _, v := range []struct{ version, mode string }{{"v1", "good"}, {"v2", "good"}, {"v3", "unhealthy"}} {
		box.WriteFile("/srv/bg/"+v.version+"/berth.toml", []byte(bgSpec(v.version, v.mode)), 0o644)
	}
	// Provisioning is one pass: it prepares the host, then deploys v1 (the
	// spec's directory) and verifies its health.
	start := time.Now()
	out := box.Must("berth", "provision", "-f", "/srv/bg/v1/berth.toml")
	t.Logf("provision bg (deploys v1):\n%s", out)
	m := regexp.MustCompile(`install release\s+ok\s+\S+\s+(\S+) from /srv/bg/v1`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("provision did not deploy v1")
	}
	v1Release := m[1]
	fmt.Printf("FIGURE systemd runtime: provision from scratch including the first deploy (v1): %v\n", time.Since(start).Round(time.Millisecond))
	if again := box.Must("berth", "provision", "-f", "/srv/bg/v1/berth.toml"); !strings.Contains(again, "0 changes") || !strings.Contains(again, "nothing to start") {
		t.Errorf("a second provision changed something:\n%s", again)
	}
	wantServes(t, box, "v1")
	v1Unit := activeUnits(box)
	if len(v1Unit) != 1 {
		t.Fatalf("after v1, active units %v; want one", v1Unit)
	}
	v1PID := mainPID(box, v1Unit[0])

	// v2: poll both units while the deploy runs.
	done := make(chan string, 1)
	start = time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := box.Exec(ctx, "berth", "deploy", "-f", "/srv/bg/v2/berth.toml")
		if err != nil {
			out += "\nERROR: " + err.Error()
		}
		done <- out
	}()
	bothSeen, polls := 0, 0
poll:
	for {
		select {
		case out = <-done:
			break poll
		case <-time.After(100 * time.Millisecond):
		}
		polls++
		if len(activeUnits(box)) == 2 {
			bothSeen++
		}
	}
	took := time.Since(start)
	t.Logf("deploy v2 (%v):\n%s", took, out)
	if strings.Contains(out, "ERROR:") {
		t.Fatalf("deploy v2 failed")
	}
	fmt.Printf("FIGURE systemd runtime: v1 -> v2 blue-green through berth.service: %v; both units active in %d of %d polls during it\n",
		took.Round(time.Millisecond), bothSeen, polls)
	if bothSeen == 0 {
		t.Errorf("never saw both units active during the v1 -> v2 deploy (%d polls)", polls)
	}
	wantServes(t, box, "v2")
	if got := mainPID(box, v1Unit[0]); got != v1PID {
		t.Errorf("v1's unit %s has pid %d after v2 went live; want it warm, still %d", v1Unit[0], got, v1PID)
	}

	// Rollback to the warm v1: the same process serves again.
	start = time.Now()
	t.Logf("rollback to v1:\n%s", box.Must("berth", "rollback", "bg"))
	fmt.Printf("FIGURE systemd runtime: warm rollback to v1: %v\n", time.Since(start).Round(time.Millisecond))
	wantServes(t, box, "v1")
	if got := mainPID(box, v1Unit[0]); got != v1PID {
		t.Errorf("rollback started v1 anew (pid %d, was %d); want the warm one", got, v1PID)
	}

	t.Logf("deploy v2 again:\n%s", box.Must("berth", "deploy", "-f", "/srv/bg/v2/berth.toml"))
	wantServes(t, box, "v2")

	// v3 never becomes healthy: the deploy fails, v2 keeps serving.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start = time.Now()
	out, err := box.Exec(ctx, "berth", "deploy", "-f", "/srv/bg/v3/berth.toml")
	t.Logf("deploy v3 (%v, %v):\n%s", time.Since(start), err, out)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("deploy of an unhealthy v3: %v; want exit status 3 (did not go live)", err)
	}
	fmt.Printf("FIGURE systemd runtime: failing v3 refused in %v, v2 still serving\n", time.Since(start).Round(time.Millisecond))
	wantServes(t, box, "v2")

	// Back to v1 by its id: v3 took its warm color, so v1 starts anew.
	start = time.Now()
	t.Logf("rollback to v1 after v3:\n%s", box.Must("berth", "rollback", "bg", "--to", v1Release))
	fmt.Printf("FIGURE systemd runtime: rollback --to v1 after the failed v3 (v1 no longer warm: started and verified anew): %v\n",
		time.Since(start).Round(time.Millisecond))
	wantServes(t, box, "v1")
	t.Logf("status:\n%s", box.Must("berth", "status", "bg"))
}

// activeUnits returns bg's units that systemd says are active.
func activeUnits(box *Box) []string {
	var out []string
	for _, u := range bgUnits {
		if s, _ := box.Exec(context.Background(), "systemctl", "is-active", u); strings.TrimSpace(s) == "active" {
			out = append(out, u)
		}
	}
	return out
}

func mainPID(box *Box, unit string) int {
	var pid int
	s := box.Must("systemctl", "show", "-p", "MainPID", "--value", unit)
	fmt.Sscanf(strings.TrimSpace(s), "%d", &pid)
	return pid
}

// wantServes checks that bg's proxy answers with version, asking a few
// times: the switch is done when deploy returns, the answer is immediate.
func wantServes(t *testing.T, box *Box, version string) {
	t.Helper()
	var got string
	for range 5 {
		got, _ = box.Exec(context.Background(), "curl", "-s", "--max-time", "2", "http://127.0.0.1:8082/")
		if strings.Contains(got, "hello from "+version) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("bg's proxy answers %q; want hello from %s", got, version)
}
