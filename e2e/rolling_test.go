package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRollingOverFourUnderLoad rolls 4 instances to a new release, one
// batch at a time, under load: no request fails and the 4 new ones serve.
func TestRollingOverFourUnderLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := instanceApp("roll", port, 4)
	a.strategy, a.verify = "rolling", "500ms"
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v1.0")

	ld := startLoad(port, 4)
	defer ld.stop()
	time.Sleep(300 * time.Millisecond)
	a.version = "v2"
	r := e.mustDeploy(a)
	ld.stop()
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed during the rolling deploy; first: %v", f, ld.sent.Load(), ld.errs())
	}
	t.Logf("%d requests, answers: %v", ld.sent.Load(), ld.bodies)
	for b := 1; b <= 4; b++ {
		if !strings.Contains(r.stdout+r.stderr, fmt.Sprintf("batch %d", b)) {
			t.Errorf("deploy output names no batch %d:\n%s", b, r)
		}
	}
	// Capacity at every change of the live set, from the deploy's steps
	// ("live set batch 2  ok  ...  2 new, 2 old"): never below 4.
	changes, least := 0, 1<<30
	for _, line := range strings.Split(r.stdout, "\n") {
		if !strings.Contains(line, "live set") {
			continue
		}
		var nw, old int
		i := strings.LastIndex(line, "  ")
		if _, err := fmt.Sscanf(strings.TrimSpace(line[i:]), "%d new, %d old", &nw, &old); err != nil {
			t.Fatalf("reading %q: %v", line, err)
		}
		changes++
		least = min(least, nw+old)
	}
	if changes < 8 || least < 4 {
		t.Errorf("%d changes of the live set, least capacity %d; want 8 or more changes, never below 4", changes, least)
	}
	t.Logf("live set changed %d times, capacity never below %d", changes, least)
	mixed := false
	for body := range ld.bodies {
		mixed = mixed || strings.Contains(body, "v2.")
	}
	if !mixed {
		t.Errorf("no v2 answer under load: %v", ld.bodies)
	}
	live := 0
	for _, in := range e.status("roll").Instances {
		if in.Live && in.State == "running" {
			live++
		}
	}
	if live != 4 {
		t.Errorf("%d live running instances after the rollout, want 4", live)
	}
}

// TestRollingNeverHealthyStops rolls a release whose instances never pass
// readiness: the rollout stops at batch 1 with exit 3, history says so,
// and the old 4 instances keep serving.
func TestRollingNeverHealthyStops(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := instanceApp("rollbad", port, 4)
	a.strategy, a.verify = "rolling", "500ms"
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v1.0")

	ld := startLoad(port, 2)
	defer ld.stop()
	bad := a
	bad.version, bad.checks = "v2", `
[[checks]]
name = "never"
type = "http"
path = "/up"
expect_status = 418
interval = "200ms"
timeout = "1s"
retries = 2
start_period = "1s"
`
	r := e.deploy(bad)
	ld.stop()
	if r.code != 3 {
		t.Fatalf("deploy of a never-healthy release: exit %d, want 3: %s", r.code, r)
	}
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed while the rollout failed; first: %v", f, ld.sent.Load(), ld.errs())
	}
	d := e.latest("rollbad")
	if !strings.Contains(d.Reason, "batch 1") {
		t.Errorf("history reason %q does not name the failed batch", d.Reason)
	}
	served := map[string]int{}
	c := newClient(3 * time.Second)
	defer c.CloseIdleConnections()
	for range 60 {
		code, body, err := get(c, fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil || code != 200 {
			t.Fatalf("GET / after the failed rollout = %d %v", code, err)
		}
		served[strings.TrimSpace(body)]++
	}
	if len(served) != 4 {
		t.Errorf("answers after the failed rollout = %v, want the 4 instances of v1", served)
	}
	for body := range served {
		if !strings.HasPrefix(body, "hello from v1.") {
			t.Errorf("%q answered after the failed rollout", body)
		}
	}
}

// TestRollingWorker rolls a worker of 2 instances whose heartbeat check
// must pass before an old one stops: the new ones end up running, the old
// ones stopped, and a worker that never beats stops the rollout with both
// old ones running.
func TestRollingWorker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	beat := `
[[checks]]
name = "beat"
type = "heartbeat"
file = "hb"
within = "2s"
interval = "200ms"
retries = 2
start_period = "1s"
`
	a := app{name: "rw", version: "v1", strategy: "rolling", verify: "500ms", checks: beat, extra: "instances = 2\n",
		command: []string{"/bin/sh", "-c", "while :; do touch \"$BERTH_HEARTBEAT\"; sleep 0.2; done"}}
	e.mustDeploy(a)
	a.version = "v2"
	e.mustDeploy(a)
	running := func() map[string]bool {
		out := map[string]bool{}
		for _, in := range e.status("rw").Instances {
			if in.State == "running" {
				out[fmt.Sprintf("%s.%d live=%v", in.Color, in.Index, in.Live)] = true
			}
		}
		return out
	}
	if got := running(); len(got) != 2 {
		t.Fatalf("running after the rollout: %v, want 2 live instances", got)
	}
	bad := a
	bad.version, bad.command = "v3", []string{"/bin/sh", "-c", "exec sleep 600"}
	if r := e.deploy(bad); r.code != 3 {
		t.Fatalf("deploy of a worker that never beats: exit %d, want 3: %s", r.code, r)
	}
	got := running()
	if len(got) != 2 {
		t.Fatalf("running after the failed rollout: %v, want the 2 old instances", got)
	}
	for k := range got {
		if !strings.HasSuffix(k, "live=true") {
			t.Errorf("%s runs after the failed rollout but is not live", k)
		}
	}
}
