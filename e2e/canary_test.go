package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/deploy"
)

// canaryApp is instanceApp with n instances under strategy = "canary";
// canary is the [deploy.canary] table's body. The p99 ratio is off, as
// max_latency_rise is for every e2e app (see app.spec): scheduling on two
// shared cores moves a p99 several-fold; TestJudgeCanary covers it.
func canaryApp(name string, port, n int, canary string) app {
	a := instanceApp(name, port, n)
	a.strategy = "canary"
	a.extra += "\n[deploy.canary]\nmax_p99_ratio = 0.0\n" + canary
	return a
}

// deployInBackground starts a deploy and returns where its result comes.
func (e *env) deployInBackground(a app) <-chan result {
	e.write(a) // here, so that a failure to write fails the test's goroutine
	done := make(chan result, 1)
	go func() { done <- e.deploy(a) }()
	return done
}

// waitCanaryStep polls status until app's running canary holds step.
func (e *env) waitCanaryStep(app string, step int) deploy.CanaryStatus {
	e.t.Helper()
	var c deploy.CanaryStatus
	e.eventually(60*time.Second, fmt.Sprintf("canary of %s at step %d", app, step), func() error {
		st := e.status(app)
		if st.Canary == nil || st.Canary.Step != step {
			return fmt.Errorf("canary = %+v", st.Canary)
		}
		c = *st.Canary
		return nil
	})
	return c
}

// answers sends n sequential GET / with the pin header (none when "") and
// counts the answers by release: "v1" or "v2".
func answers(t *testing.T, port, n int, pin string) map[string]int {
	t.Helper()
	c := newClient(3 * time.Second)
	defer c.CloseIdleConnections()
	got := map[string]int{}
	for range n {
		req, _ := newGet(port)
		if pin != "" {
			req.Header.Set("X-Berth-Canary", pin)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET /: %v", err)
		}
		body := readBody(resp)
		if resp.StatusCode != 200 {
			t.Fatalf("GET / = %d %q", resp.StatusCode, body)
		}
		rel, _, _ := strings.Cut(strings.TrimPrefix(body, "hello from "), ".")
		got[rel]++
	}
	return got
}

// TestCanaryManualStepsWeightsPinAndPromote: a canary of 2 instances beside
// 2 old ones gets its 10% of 1,000 sequential requests within 3 points,
// X-Berth-Canary pins either side, status shows the step and weights, a
// manual step waits for berth promote, and the last promote leaves the new
// release alone on 2 instances.
func TestCanaryManualStepsWeightsPinAndPromote(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := canaryApp("can", port, 2, "steps = [10, 100]\nstep_for = \"manual\"\n")
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v1.0")
	a.version = "v2"
	done := e.deployInBackground(a)
	c := e.waitCanaryStep("can", 1)
	if c.Percent != 10 || c.State != deploy.CanaryWaiting || len(c.Weights) != 4 {
		t.Errorf("canary status %+v, want 10%% waiting for promote over 4 weighted instances", c)
	}
	const n = 1000
	got := answers(t, port, n, "")
	if v2 := got["v2"]; v2 < n/10-n*3/100 || v2 > n/10+n*3/100 {
		t.Errorf("the canary answered %d of %d requests (%v), want %d within 3%%", v2, n, got, n/10)
	}
	t.Logf("10%% step: %v of %d requests", got, n)
	if got := answers(t, port, 20, "always"); got["v2"] != 20 {
		t.Errorf("X-Berth-Canary: always answered by %v, want v2 only", got)
	}
	if got := answers(t, port, 20, "never"); got["v1"] != 20 {
		t.Errorf("X-Berth-Canary: never answered by %v, want v1 only", got)
	}
	if r := e.berth("status", "can"); !strings.Contains(r.stdout, "step 1 of 2: 10% to the new release") {
		t.Errorf("status does not show the canary's step:\n%s", r)
	}
	time.Sleep(300 * time.Millisecond) // a manual step waits: still step 1
	if c := e.waitCanaryStep("can", 1); c.Percent != 10 {
		t.Errorf("manual step moved on by itself: %+v", c)
	}
	if r := e.berth("promote", "can"); r.code != 0 || !strings.Contains(r.stdout, "promoted step 1") {
		t.Fatalf("berth promote: %s", r)
	}
	e.waitCanaryStep("can", 2)
	if got := answers(t, port, 20, ""); got["v2"] != 20 {
		t.Errorf("at 100%% answers %v, want v2 only", got)
	}
	if r := e.berth("promote", "can"); r.code != 0 {
		t.Fatalf("berth promote of the last step: %s", r)
	}
	r := <-done
	if r.code != 0 {
		t.Fatalf("canary deploy: %s", r)
	}
	live := 0
	for _, in := range e.status("can").Instances {
		switch {
		case in.Live && in.State == "running" && in.Release == e.latest("can").Release:
			live++
		case in.State == "running":
			t.Errorf("instance %s.%d (%s) still runs after the canary was promoted", in.Color, in.Index, in.Release)
		}
	}
	if live != 2 {
		t.Errorf("%d live instances of the new release, want 2", live)
	}
	if r := e.berth("promote", "can"); r.code != 6 {
		t.Errorf("promote with no deploy running: exit %d, want 6: %s", r.code, r)
	}
}

// TestCanaryFailingRolledBackAtFirstStep: a canary failing 30% of its
// requests under load loses its weight at its first step: exit 3, history
// has the numbers, and the old release serves alone afterwards.
func TestCanaryFailingRolledBackAtFirstStep(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := canaryApp("canbad", port, 2, "steps = [10, 50, 100]\nstep_for = \"30s\"\n")
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v1.0")
	ld := startLoad(port, 4)
	defer ld.stop()
	bad := a
	bad.version, bad.mode = "v2", "flaky"
	start := time.Now()
	r := e.deploy(bad)
	ld.stop()
	if r.code != 3 {
		t.Fatalf("deploy of a canary failing 30%%: exit %d, want 3: %s", r.code, r)
	}
	if took := time.Since(start); took > 25*time.Second {
		t.Errorf("the failing canary took %s, longer than its first step (30s) allows: it was not judged early", took)
	}
	d := e.latest("canbad")
	if d.Outcome != "rolled-back" || !strings.Contains(d.Reason, "canary step 1 (10%)") {
		t.Errorf("history: %s %q, want rolled-back at canary step 1 (10%%)", d.Outcome, d.Reason)
	}
	if d.Numbers["step"] != 1 || d.Numbers["requests"] < 50 || d.Numbers["error_rate"] < 0.2 || d.Numbers["error_rate"] > 0.4 {
		t.Errorf("history numbers %v, want step 1, 50 or more requests, error rate about 0.3", d.Numbers)
	}
	t.Logf("rolled back with %v; load: %d sent, %d failed (the canary's 500s)", d.Numbers, ld.sent.Load(), ld.failed.Load())
	if got := answers(t, port, 100, ""); got["v1"] != 100 {
		t.Errorf("after the rollback answers %v, want v1 only", got)
	}
	for _, in := range e.status("canbad").Instances {
		if in.State == "running" && !in.Live {
			t.Errorf("canary instance %s.%d still runs", in.Color, in.Index)
		}
	}
}

// TestCanaryAbortAndDaemonCrash: berth abort during a canary's step, and a
// daemon killed during one, both end with the old release serving alone,
// the canary's instances stopped and the deployment recorded.
func TestCanaryAbortAndDaemonCrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := canaryApp("canab", port, 2, "steps = [20, 100]\nstep_for = \"manual\"\n")
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v1.0")
	oldOnly := func(when string) {
		t.Helper()
		if got := answers(t, port, 50, ""); got["v1"] != 50 {
			t.Errorf("%s: answers %v, want v1 only", when, got)
		}
		e.eventually(20*time.Second, "canary instances stopped "+when, func() error {
			for _, in := range e.status("canab").Instances {
				if in.State == "running" && !in.Live {
					return fmt.Errorf("instance %s.%d still runs", in.Color, in.Index)
				}
			}
			return nil
		})
	}

	a.version = "v2"
	done := e.deployInBackground(a)
	e.waitCanaryStep("canab", 1)
	if got := answers(t, port, 100, ""); got["v2"] == 0 {
		t.Fatalf("the canary at 20%% took none of 100 requests: %v", got)
	}
	if r := e.berth("abort", "canab"); r.code != 0 || !strings.Contains(r.stdout, "aborted") {
		t.Errorf("berth abort: %s", r)
	}
	if r := <-done; r.code != 3 {
		t.Errorf("aborted canary deploy: exit %d, want 3: %s", r.code, r)
	}
	if d := e.latest("canab"); d.Outcome != "aborted" {
		t.Errorf("aborted canary recorded %s: %q", d.Outcome, d.Reason)
	}
	oldOnly("after abort")

	a.version = "v3"
	done = e.deployInBackground(a)
	e.waitCanaryStep("canab", 1)
	e.stopDaemon(syscall.SIGKILL)
	<-done // the CLI loses its daemon
	e.startDaemon()
	if d := e.latest("canab"); d.Outcome != "interrupted" {
		t.Errorf("canary cut by a daemon crash recorded %s: %q", d.Outcome, d.Reason)
	}
	oldOnly("after the daemon's restart")
}

func newGet(port int) (*http.Request, error) {
	return http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/", port), nil)
}

func readBody(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}
