package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/deploy"
)

// liveSet reads app's live set from the daemon's API (what its proxy holds).
func (e *env) liveSet(app string) ([]deploy.SetMember, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return api.NewClient(filepath.Join(e.home, "run", "berth.sock")).LiveSet(ctx, app)
}

// setNames are the names of the members of a live set with weight.
func setNames(ms []deploy.SetMember) map[string]bool {
	out := map[string]bool{}
	for _, m := range ms {
		if m.Weight > 0 {
			out[m.Name] = true
		}
	}
	return out
}

// poke posts to one instance's own port (/break, /mend).
func poke(t *testing.T, port int, what string) {
	t.Helper()
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/%s", port, what), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// answered counts the load's answers from one instance.
func (l *load) answered(body string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for b, c := range l.bodies {
		if strings.TrimSpace(b) == body {
			n += c
		}
	}
	return n
}

// TestReadinessTakesInstanceOutOfSet runs 3 instances under load and makes
// one fail readiness: it leaves the live set (no request reaches it while
// it is out, none fails) and comes back when it passes again. When all 3
// fail, all stay in the set and every request is still answered.
func TestReadinessTakesInstanceOutOfSet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := instanceApp("pool", port, 3)
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v1.0")
	st := e.status("pool")
	ports := map[int]int{}
	for _, in := range st.Instances {
		if in.Live {
			ports[in.Index] = in.Port
		}
	}
	slot1 := st.Live + ".1"
	ld := startLoad(port, 4)
	defer ld.stop()

	poke(t, ports[1], "break")
	e.eventually(30*time.Second, slot1+" out of the live set", func() error {
		ms, err := e.liveSet("pool")
		if err != nil {
			return err
		}
		if got := setNames(ms); len(got) != 2 || got[slot1] {
			return fmt.Errorf("live set %v", got)
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond) // what it had in flight ends
	before := ld.answered("hello from v1.1")
	for _, in := range e.status("pool").Instances {
		if in.Live && in.Serving == (in.Index == 1) {
			t.Errorf("status: %s.%d serving=%v while instance 1 is out", in.Color, in.Index, in.Serving)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	if got := ld.answered("hello from v1.1"); got != before {
		t.Errorf("instance 1 answered %d requests while out of the live set", got-before)
	}
	others := ld.answered("hello from v1.0") + ld.answered("hello from v1.2")

	poke(t, ports[1], "mend")
	e.eventually(30*time.Second, slot1+" back in the live set", func() error {
		ms, err := e.liveSet("pool")
		if err != nil {
			return err
		}
		if got := setNames(ms); len(got) != 3 {
			return fmt.Errorf("live set %v", got)
		}
		return nil
	})
	e.eventually(10*time.Second, "instance 1 answering again", func() error {
		if got := ld.answered("hello from v1.1"); got == before {
			return fmt.Errorf("no answer from instance 1 since it came back")
		}
		return nil
	})
	if ld.answered("hello from v1.0")+ld.answered("hello from v1.2") == others {
		t.Errorf("instances 0 and 2 served nothing while 1 was out")
	}

	for i := range 3 {
		poke(t, ports[i], "break")
	}
	e.eventually(30*time.Second, "a pool.kept event", func() error {
		if ev := e.berth("events", "pool", "-n", "200"); !strings.Contains(ev.stdout, "monitor.pool.kept") {
			return fmt.Errorf("no monitor.pool.kept yet")
		}
		return nil
	})
	if ms, err := e.liveSet("pool"); err != nil || len(setNames(ms)) == 0 {
		t.Errorf("live set when all fail readiness: %v %v, want members", ms, err)
	}
	ld.stop()
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed; first: %v", f, ld.sent.Load(), ld.errs())
	}
	ev := e.berth("events", "pool", "-n", "200").stdout
	for _, kind := range []string{"monitor.pool.out", "monitor.pool.in"} {
		if !strings.Contains(ev, kind) {
			t.Errorf("no %s event:\n%s", kind, ev)
		}
	}
	t.Logf("%d requests; answers %v", ld.sent.Load(), ld.bodies)
}

// TestLivenessRestartsOnlyThatInstance fails the liveness check of one of
// 3 live instances under load: that one is restarted (a new pid), the
// other two keep their pids, and no request fails.
func TestLivenessRestartsOnlyThatInstance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := instanceApp("alive3", port, 3)
	a.checks = `
[[checks]]
name = "up"
type = "http"
role = "liveness"
path = "/up"
interval = "200ms"
timeout = "1s"
retries = 2
start_period = "2s"
`
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v1.0")
	pids, ports := map[int]int{}, map[int]int{}
	for _, in := range e.status("alive3").Instances {
		if in.Live {
			pids[in.Index], ports[in.Index] = in.PID, in.Port
		}
	}
	ld := startLoad(port, 4)
	defer ld.stop()
	poke(t, ports[1], "break")
	e.eventually(60*time.Second, "instance 1 restarted and serving", func() error {
		for _, in := range e.status("alive3").Instances {
			if in.Live && in.Index == 1 && (in.PID == pids[1] || in.State != "running" || !in.Serving) {
				return fmt.Errorf("instance 1: pid %d (was %d), %s, serving %v", in.PID, pids[1], in.State, in.Serving)
			}
		}
		return nil
	})
	ld.stop()
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed during the restart; first: %v", f, ld.sent.Load(), ld.errs())
	}
	for _, in := range e.status("alive3").Instances {
		if in.Live && in.Index != 1 && in.PID != pids[in.Index] {
			t.Errorf("instance %d was restarted too: pid %d, was %d", in.Index, in.PID, pids[in.Index])
		}
	}
	if d := e.latest("alive3"); d.Kind != "deploy" {
		t.Errorf("latest deployment is a %s; restarting one instance of several needs no deploy", d.Kind)
	}
}
