package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGSTOPLiveFor15s: the live agent is SIGSTOPped for 15 s under load.
// Its liveness check fails, the monitor restarts the app onto the other
// color (blue-green), traffic moves there, and the frozen instance is
// stopped. Requests caught in the frozen agent fail; the test measures how
// many and how long until traffic flows again.
func TestSIGSTOPLiveFor15s(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := app{name: "frozen", version: "v1", mode: "good", listen: port, checks: `
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
	e.waitAnswer(port, "hello from v1")
	before := e.liveInstance("frozen")

	ld := startLoad(port, 4)
	defer ld.stop()
	time.Sleep(time.Second)
	sentBefore, failedBefore := ld.sent.Load(), ld.failed.Load()
	if err := syscall.Kill(before.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	var sawFailing, movedAfter time.Duration
	for time.Since(stopped) < 15*time.Second {
		st := e.status("frozen")
		for _, in := range st.Instances {
			if in.Color == before.Color && sawFailing == 0 && strings.HasPrefix(in.Health, "failing") {
				sawFailing = time.Since(stopped)
				t.Logf("%.1fs after SIGSTOP: %s is %q", sawFailing.Seconds(), in.Color, in.Health)
			}
			if in.Live && in.Color != before.Color && in.State == "running" && movedAfter == 0 {
				movedAfter = time.Since(stopped)
				t.Logf("%.1fs after SIGSTOP: %s live", movedAfter.Seconds(), in.Color)
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	if alive(before.PID) {
		syscall.Kill(before.PID, syscall.SIGCONT)
	}
	failedFrozen := ld.failed.Load() - failedBefore
	sentFrozen := ld.sent.Load() - sentBefore
	time.Sleep(2 * time.Second) // traffic after the freeze
	failedAfter := ld.failed.Load() - failedBefore - failedFrozen
	ld.stop()
	t.Logf("during the 15s freeze: %d requests, %d failed (first: %v); in the 2s after: %d failed",
		sentFrozen, failedFrozen, ld.errs(), failedAfter)
	if movedAfter == 0 {
		t.Fatalf("traffic never left the frozen %s in 15s; status: %+v", before.Color, e.status("frozen"))
	}
	if failedAfter != 0 {
		t.Errorf("%d requests failed after the freeze, with the other color live", failedAfter)
	}
	e.eventually(30*time.Second, "the frozen instance is gone", func() error {
		if alive(before.PID) {
			return fmt.Errorf("pid %d of the frozen %s still alive", before.PID, before.Color)
		}
		return nil
	})
	d := e.latest("frozen")
	if d.Kind != "restart" || d.User != "berth (monitor)" || d.Outcome != "succeeded" {
		t.Errorf("latest deployment: %s by %s: %s (%s)", d.Kind, d.User, d.Outcome, d.Reason)
	}
	t.Logf("latest deployment: %s by %s: %s: %s", d.Kind, d.User, d.Outcome, d.Reason)
	for _, in := range e.status("frozen").Instances {
		t.Logf("after: %s live=%v state=%s health=%q last_exit=%q", in.Color, in.Live, in.State, in.Health, in.LastExit)
	}
}
