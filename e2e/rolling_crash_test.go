package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/state"
)

// TestKillDaemonBetweenRollingBatches kills the daemon with SIGKILL after
// the first batch of a rolling deploy of 4 instances replaced one old
// instance, under load, and starts it again: the deployment is journaled
// as interrupted and rolled back (the 4 instances of the old release
// serve, nothing of the new one runs), and no request fails meanwhile
// (the front serves the mixed set while no daemon runs) and capacity,
// sampled every 10 ms whenever the daemon answers, never drops below 4:
// the restore starts the old instances again before it stops new ones.
func TestKillDaemonBetweenRollingBatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := instanceApp("rk9", port, 4)
	a.strategy, a.verify = "rolling", "500ms"
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v1.0")
	old := e.latest("rk9").Release

	ld := startLoad(port, 4)
	defer ld.stop()
	time.Sleep(300 * time.Millisecond)
	a.version = "v2"
	capa := e.sampleCapacity("rk9") // no samples while no daemon answers
	ran := e.deployAndKill(a, kill{after: "stop old batch 1"})
	d := e.latest("rk9")
	t.Logf("deployment %s %s live %q, steps %v; deploy said %s", d.ID, d.Outcome, d.Live, stepNames(d), ran)
	if d.Outcome != state.OutcomeInterrupted || d.Reason == "" || d.EndedAt.IsZero() {
		t.Errorf("deployment %s: %s %q ended %v, want interrupted with a reason and an end", d.ID, d.Outcome, d.Reason, d.EndedAt)
	}
	e.eventually(30*time.Second, "the old 4 serving alone", func() error {
		st := e.status("rk9")
		if st.Deploying != "" {
			return fmt.Errorf("still busy: %s", st.Deploying)
		}
		n := 0
		for _, in := range st.Instances {
			switch {
			case in.Live && in.Release == old && in.State == "running" && in.Serving:
				n++
			case in.State == "running":
				return fmt.Errorf("%s runs release %s, live %v", in.ID, in.Release, in.Live)
			}
		}
		if n != 4 {
			return fmt.Errorf("%d old instances serve: %+v", n, st.Instances)
		}
		ms, err := e.liveSet("rk9")
		if err != nil || len(setNames(ms)) != 4 {
			return fmt.Errorf("live set %v %v", ms, err)
		}
		return nil
	})
	if d.Live != e.status("rk9").Live {
		t.Errorf("history says %q live at the end, status says %q", d.Live, e.status("rk9").Live)
	}
	time.Sleep(500 * time.Millisecond)
	samples, least, _ := capa.stop()
	t.Logf("%d samples of the live set, healthy capacity never below %d: %v", samples, least, capa.low)
	if samples < 20 || least < 4 {
		t.Errorf("%d samples, least healthy capacity %d; want 20 or more, never below 4 (max_unavailable 0), the restore included", samples, least)
	}
	ld.stop()
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed across the kill and the restore; first: %v", f, ld.sent.Load(), ld.errs())
	}
	ev := e.berth("events", "rk9", "-n", "100").stdout
	if !strings.Contains(ev, "interrupted") {
		t.Errorf("no interrupted deploy in the events:\n%s", ev)
	}
	t.Logf("%d requests, answers %v", ld.sent.Load(), ld.bodies)
}
