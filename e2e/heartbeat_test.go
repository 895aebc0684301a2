package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/deploy"
)

// beater is a real worker that makes progress: it touches its heartbeat file
// and prints a line five times a second. It falls back to the shared
// heartbeat file an agent written for berth before BERTH_HEARTBEAT would use.
const beater = `f="${BERTH_HEARTBEAT:-$BERTH_SHARED/heartbeat}"
while :; do touch "$f"; echo "beat $VERSION"; sleep 0.2; done`

// stalled is a worker that runs but never works.
const stalled = `echo "$VERSION started"; exec sleep 1000`

func worker(name, version, script, check string) app {
	return app{name: name, version: version, command: []string{"/bin/sh", "-c", script}, verify: "1s", checks: check,
		strategy: "bluegreen"} // the new worker starts next to the old one
}

const fileBeat = `
[[checks]]
name = "progress"
type = "heartbeat"
file = "heartbeat"
within = "1m"
interval = "200ms"
start_period = "2s"
`

const lineBeat = `
[[checks]]
name = "progress"
type = "heartbeat"
pattern = "^beat v\\d+$"
within = "1m"
interval = "200ms"
start_period = "2s"
`

// A new release that runs but never touches its heartbeat file does not
// replace a worker that does: the old color's fresh heartbeats are not the
// new color's. The deploy exits 3, the old worker keeps running and beating,
// and status, history and why say why.
func TestStalledWorkerNeverReplacesABeatingOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustDeploy(worker("beat", "v1", beater, fileBeat))
	before := e.liveInstance("beat")
	if r := e.deploy(worker("beat", "v2", stalled, fileBeat)); r.code != 3 {
		t.Fatalf("deploy of a worker that never beats: %s, want exit 3", r)
	}
	e.assertStillLive("beat", before)
	beat := filepath.Join(e.home, "apps", "beat", "shared", "heartbeat."+before.Color)
	fi1, err := os.Stat(beat)
	if err != nil {
		t.Fatalf("the live worker's own heartbeat file: %v", err)
	}
	e.eventually(10*time.Second, "the old worker beating on", func() error {
		fi2, err := os.Stat(beat)
		if err != nil || !fi2.ModTime().After(fi1.ModTime()) {
			return fmt.Errorf("%s not touched again (%v)", beat, err)
		}
		return nil
	})
	e.assertSaysWhy("beat", `liveness check "progress"`, "has not beaten yet")
}

// The same with a pattern heartbeat: the new instance's color ran before
// (v1 printed matching lines into its log a moment ago), but lines from
// before the instance started are not its progress.
func TestSilentWorkerNeverReplacesOneThatPrints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustDeploy(worker("print", "v1", beater, lineBeat))
	e.mustDeploy(worker("print", "v2", beater, lineBeat))
	before := e.liveInstance("print")
	if r := e.deploy(worker("print", "v3", stalled, lineBeat)); r.code != 3 {
		t.Fatalf("deploy of a worker that prints no beat: %s, want exit 3", r)
	}
	e.assertStillLive("print", before)
	e.assertSaysWhy("print", `liveness check "progress"`, "since the instance started")
}

// assertStillLive checks that the instance that was live still is, with the
// same process, and that status calls it healthy.
func (e *env) assertStillLive(name string, before deploy.InstanceStatus) {
	e.t.Helper()
	e.eventually(15*time.Second, "the old worker live and healthy", func() error {
		now := e.liveInstance(name)
		if now.Color != before.Color || now.PID != before.PID || now.Release != before.Release || now.State != "running" {
			return errStop(fmt.Errorf("live %s pid %d %s (%s), was %s pid %d %s", now.Color, now.PID, now.Release, now.State, before.Color, before.PID, before.Release))
		}
		if !alive(now.PID) {
			return errStop(fmt.Errorf("pid %d is gone", now.PID))
		}
		if now.Health != "ok" {
			return fmt.Errorf("health %q", now.Health)
		}
		return nil
	})
}

// assertSaysWhy checks that the failed deployment, berth status and berth
// why explain the failure.
func (e *env) assertSaysWhy(name string, wants ...string) {
	e.t.Helper()
	d := e.latest(name)
	for _, w := range wants {
		if d.Outcome != "failed" || !strings.Contains(d.Reason, w) {
			e.t.Fatalf("latest deployment %s: %q, want failed with %q", d.Outcome, d.Reason, w)
		}
	}
	why := e.berth("why", name)
	if why.code != 0 || !strings.Contains(why.stdout, wants[len(wants)-1]) {
		e.t.Fatalf("berth why does not say why: %s", why)
	}
	st := e.berth("status", name)
	if st.code != 0 || !strings.Contains(st.stdout, " ok") {
		e.t.Fatalf("berth status: %s", st)
	}
}
