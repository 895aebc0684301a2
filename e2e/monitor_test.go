package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// breakAgent makes the agent behind the proxy fail its /up from now on.
func breakAgent(t *testing.T, port int) {
	t.Helper()
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/break", port), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// A live color that stops being ready after its deploy loses its traffic to
// the warm color, by itself, and the journal says why.
func TestMonitorFailsOverOnReadiness(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	e.mustDeploy(app{name: "ready", version: "v1", mode: "good", listen: port})
	e.mustDeploy(app{name: "ready", version: "v2", mode: "good", listen: port})
	e.waitAnswer(port, "hello from v2")
	breakAgent(t, port)
	e.waitAnswer(port, "hello from v1")
	d := e.latest("ready")
	if d.Kind != "rollback" || !strings.Contains(d.Reason, "readiness failed") {
		t.Fatalf("latest deployment %s %s: %q, want a rollback for failed readiness", d.Kind, d.Outcome, d.Reason)
	}
	ev := e.berth("events", "ready", "-n", "100")
	if !strings.Contains(ev.stdout, "alert.fired") {
		t.Fatalf("no alert in the journal:\n%s", ev.stdout)
	}
	why := e.berth("why", "ready")
	if why.code != 0 || !strings.Contains(why.stdout, "readiness failed") {
		t.Fatalf("berth why: %s", why)
	}
}

// A live instance that fails its liveness check is restarted; with
// blue-green that is a deploy of the same release to the idle color, so the
// app keeps answering throughout.
func TestMonitorRestartsOnLiveness(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := app{name: "alive", version: "v1", mode: "good", listen: port, checks: `
[[checks]]
name = "up"
type = "http"
role = "liveness"
path = "/up"
interval = "200ms"
timeout = "1s"
retries = 2
start_period = "2s"
`}
	e.mustDeploy(a)
	before := e.liveInstance("alive")
	ld := startLoad(port, 2)
	breakAgent(t, port)
	e.eventually(60*time.Second, "a restart on the other color", func() error {
		now := e.liveInstance("alive")
		if now.Color == before.Color || now.State != "running" {
			return fmt.Errorf("live %s (%s), was %s", now.Color, now.State, before.Color)
		}
		return nil
	})
	ld.stop()
	if errs := ld.errs(); len(errs) > 0 {
		t.Fatalf("%d requests failed during the restart, first: %s", len(errs), errs[0])
	}
	d := e.latest("alive")
	if d.Kind != "restart" || d.User != "berth (monitor)" || d.Outcome != "succeeded" {
		t.Fatalf("latest deployment: %s by %s: %s", d.Kind, d.User, d.Outcome)
	}
}

// A worker that stops making progress (no "tick" line for a second) is
// restarted by its heartbeat check, though its process never exited.
func TestHeartbeatRestartsStalledWorker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	script := `i=0; while [ $i -lt 15 ]; do i=$((i+1)); echo tick $i; sleep 0.1; done; echo stuck; exec sleep 1000`
	e.mustDeploy(app{name: "stall", version: "v1", command: []string{"/bin/sh", "-c", script}, checks: `
[[checks]]
name = "progress"
type = "heartbeat"
pattern = "^tick \\d+$"
within = "1s"
interval = "200ms"
start_period = "1s"
`})
	first := e.liveInstance("stall").PID
	e.eventually(30*time.Second, "a restart by the heartbeat", func() error {
		if now := e.liveInstance("stall"); now.PID == first || now.PID == 0 {
			return fmt.Errorf("pid %d, was %d", now.PID, first)
		}
		return nil
	})
	ev := e.berth("events", "stall", "-n", "200")
	if !strings.Contains(ev.stdout, "monitor.restart") || !strings.Contains(ev.stdout, "progress") {
		t.Fatalf("the journal does not show the heartbeat restart:\n%s", ev.stdout)
	}
}

// berth check app runs the functional checks once, for cron: exit 0 while
// the agent really answers, 9 once it does not.
func TestCheckApp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	e.mustDeploy(app{name: "fn", version: "v1", mode: "good", listen: port, checks: `
[[checks]]
name = "up"
type = "http"
path = "/up"
interval = "200ms"
retries = 2
start_period = "2s"

[[checks]]
name = "answers"
type = "http"
role = "functional"
path = "/up"
expect_body = "ok"
interval = "1h"
`})
	if r := e.berth("check", "app", "fn"); r.code != 0 || !strings.Contains(r.stdout, "answers") {
		t.Fatalf("check app on a good agent: %s", r)
	}
	breakAgent(t, port)
	if r := e.berth("check", "app", "fn"); r.code != 9 || !strings.Contains(r.stdout, "FAILED") {
		t.Fatalf("check app on a broken agent: %s", r)
	}
}
