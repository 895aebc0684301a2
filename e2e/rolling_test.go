package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// rollUnderLoad rolls 4 instances to a new release with extra in
// [deploy], under load, sampling capacity every 10 ms: no request fails,
// the healthy members of the live set never drop below floor, and the 4
// new ones serve at the end.
func rollUnderLoad(t *testing.T, name, extra string, floor int) {
	e := newEnv(t)
	port := freePort(t)
	a := instanceApp(name, port, 4)
	a.strategy, a.verify = "rolling", "500ms"
	a.extra += extra
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v1.0")

	ld := startLoad(port, 4)
	defer ld.stop()
	time.Sleep(300 * time.Millisecond)
	capa := e.sampleCapacity(name)
	a.version = "v2"
	r := e.mustDeploy(a)
	samples, least, errs := capa.stop()
	ld.stop()
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed during the rolling deploy; first: %v", f, ld.sent.Load(), ld.errs())
	}
	t.Logf("%d requests, answers: %v", ld.sent.Load(), ld.bodies)
	if !strings.Contains(r.stdout+r.stderr, "batch 1") {
		t.Errorf("deploy output names no batch:\n%s", r)
	}
	if len(errs) > 0 {
		t.Errorf("sampling the live set: %v", errs)
	}
	if samples < 50 || least < floor {
		t.Errorf("%d samples, least healthy capacity %d; want 50 or more samples, never below %d; minima: %v", samples, least, floor, capa.low)
	}
	t.Logf("%d samples of the live set every 10ms: healthy capacity never below %d (floor %d)", samples, least, floor)
	mixed := false
	for body := range ld.bodies {
		mixed = mixed || strings.Contains(body, "v2.")
	}
	if !mixed {
		t.Errorf("no v2 answer under load: %v", ld.bodies)
	}
	live := 0
	st := e.status(name)
	for _, in := range st.Instances {
		if in.Live && in.State == "running" && in.Serving {
			live++
		}
		if !in.Live && in.State == "stopped" {
			t.Errorf("status lists the stopped old instance %s.%d; want the idle summary", in.Color, in.Index)
		}
	}
	if live != 4 {
		t.Errorf("%d live running serving instances after the rollout, want 4", live)
	}
	if st.Idle == nil || st.Idle.Instances != 4 {
		t.Errorf("idle summary after the rollout = %+v, want the old color's 4 stopped instances", st.Idle)
	}
	// The table: one row per live instance, the old color in one line.
	out := e.berth("status", name).stdout
	rows := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, name+" ") {
			rows++
		}
	}
	if rows != 4 || !strings.Contains(out, name+": ") || !strings.Contains(out, "4 instance(s) stopped") {
		t.Errorf("berth status after the rollout: %d instance rows, want 4 and an idle line:\n%s", rows, out)
	}
	t.Logf("berth status:\n%s", out)
}

// TestRollingOverFourUnderLoad rolls one new instance at a time
// (max_surge 1): capacity never drops below 4.
func TestRollingOverFourUnderLoad(t *testing.T) {
	t.Parallel()
	rollUnderLoad(t, "roll", "", 4)
}

// TestRollingNoSurgeUnderLoad rolls without room for one more (max_surge
// 0, max_unavailable 1): capacity never drops below 3.
func TestRollingNoSurgeUnderLoad(t *testing.T) {
	t.Parallel()
	rollUnderLoad(t, "rollns", "max_surge = 0\nmax_unavailable = 1\n", 3)
}

// TestRollingSurgeTwoUnderLoad rolls two new instances at a time
// (max_surge 2): capacity never drops below 4.
func TestRollingSurgeTwoUnderLoad(t *testing.T) {
	t.Parallel()
	rollUnderLoad(t, "rolls2", "max_surge = 2\n", 4)
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
