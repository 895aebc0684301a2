package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/state"
)

// TestRollbackToWarmRelease: after v1 -> v2, `berth rollback` switches back
// to the still-running v1 and records a rollback deployment.
func TestRollbackToWarmRelease(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := app{name: "rb", version: "v1", mode: "good", listen: port}
	e.mustDeploy(a)
	v1 := e.liveInstance("rb")
	a.version = "v2"
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v2")
	var warm bool
	for _, in := range e.status("rb").Instances {
		if in.Color == v1.Color && in.Warm && in.PID == v1.PID {
			warm = true
		}
	}
	if !warm {
		t.Errorf("v1 (%s pid %d) is not warm after v2 went live: %+v", v1.Color, v1.PID, e.status("rb").Instances)
	}

	if r := e.berth("rollback", "rb"); r.code != 0 {
		t.Fatalf("berth rollback: %s", r)
	}
	e.waitAnswer(port, "hello from v1")
	live := e.liveInstance("rb")
	if live.Color != v1.Color || live.Release != v1.Release || live.PID != v1.PID {
		t.Errorf("live after rollback: %s %s pid %d, want the warm v1 %s %s pid %d",
			live.Color, live.Release, live.PID, v1.Color, v1.Release, v1.PID)
	}
	d := e.latest("rb")
	if d.Kind != "rollback" || d.Outcome != state.OutcomeSucceeded {
		t.Errorf("newest deployment is %s %s, want a succeeded rollback", d.Kind, d.Outcome)
	}
	if r := e.berth("history", "rb"); !hasLine(r.stdout, "rollback") {
		t.Errorf("berth history shows no rollback: %s", r)
	}
}

// TestConcurrentDeploysBusy: a second deploy of an app while one runs is
// refused with exit 5 naming the running deployment; the first succeeds.
func TestConcurrentDeploysBusy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := app{name: "busy", version: "v1", mode: "good", listen: port}
	e.mustDeploy(a)

	a.version = "v2"
	p := e.write(a)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	first := exec.CommandContext(ctx, berthBin, "--home", e.home, "deploy", "-f", p)
	first.Env = append(first.Environ(), "NO_COLOR=1")
	stdout, err := first.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var firstOut bytes.Buffer
	first.Stderr = &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		s := bufio.NewScanner(stdout)
		once := sync.Once{}
		for s.Scan() {
			if strings.Contains(s.Text(), "install release") {
				once.Do(func() { close(started) })
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the first deploy printed no install step")
	}

	a.version = "v3"
	second := e.deploy(a)
	<-copied
	err = first.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if first.ProcessState.ExitCode() != 0 {
		t.Errorf("the first deploy failed: exit %d: %s", first.ProcessState.ExitCode(), firstOut.String())
	}
	d := e.latest("busy")
	if second.code != 5 {
		t.Errorf("second deploy while one runs: want exit 5, got %s", second)
	}
	if want := "deployment " + d.ID; !strings.Contains(second.stderr+second.stdout, want) {
		t.Errorf("busy message does not name the running deployment (%q): %s", want, second)
	}
	e.waitAnswer(port, "hello from v2")
}

// TestDrainAcrossSwitch: a slow request and an SSE stream opened on v1
// before the switch finish normally on v1; the deployment counts them.
func TestDrainAcrossSwitch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := app{name: "drain", version: "v1", mode: "good", listen: port}
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v1")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	c := newClient(20 * time.Second)
	defer c.CloseIdleConnections()

	type slowResult struct {
		code int
		body string
		err  error
	}
	slow := make(chan slowResult, 1)
	go func() {
		code, body, err := get(c, base+"/slow?ms=2500")
		slow <- slowResult{code, body, err}
	}()

	resp, err := c.Get(base + "/events?seconds=4")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	type event struct {
		at   time.Time
		data string
	}
	var mu sync.Mutex
	var events []event
	streamDone := make(chan error, 1)
	go func() {
		s := bufio.NewScanner(resp.Body)
		for s.Scan() {
			if d, ok := strings.CutPrefix(s.Text(), "data: "); ok {
				mu.Lock()
				events = append(events, event{time.Now(), d})
				mu.Unlock()
			}
		}
		streamDone <- s.Err()
	}()
	time.Sleep(300 * time.Millisecond) // both requests are in flight on v1

	a.version = "v2"
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v2")

	sr := <-slow
	if sr.err != nil || sr.code != http.StatusOK || sr.body != "slow 2500ms from v1" {
		t.Errorf("slow request across the switch: %d %q %v; want 200 from v1", sr.code, sr.body, sr.err)
	}
	select {
	case err := <-streamDone:
		if err != nil && !errors.Is(err, io.EOF) {
			t.Errorf("SSE stream broke: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("SSE stream did not end")
	}

	d := e.latest("drain")
	var switched time.Time
	for _, s := range d.Steps {
		if strings.HasPrefix(s.Name, "switch") {
			switched = s.StartedAt.Add(s.Took)
		}
	}
	if switched.IsZero() {
		t.Fatalf("no switch step in %+v", d.Steps)
	}
	mu.Lock()
	var after int
	last := ""
	for _, ev := range events {
		if ev.at.After(switched) {
			after++
		}
		last = ev.data
	}
	mu.Unlock()
	if after == 0 {
		t.Errorf("no SSE event after the switch at %s (%d events)", switched.Format(time.StampMilli), len(events))
	}
	if last != "done" {
		t.Errorf("SSE stream ended with %q, want the end event", last)
	}
	if d.Drained < 1 {
		t.Errorf("deployment %s: drained %d, cut %d; want at least 1 drained", d.ID, d.Drained, d.Cut)
	}
}

// TestSimultaneousDeploysNameTheRunningOne: two deploys started at the same
// instant; the refused one must still name a real deployment (an ID), not a
// placeholder.
func TestSimultaneousDeploysNameTheRunningOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := app{name: "twin", version: "v1", mode: "good", listen: port}
	e.mustDeploy(a)
	idRef := regexp.MustCompile(`deployment \d+ of twin`)
	for i := 0; i < 3; i++ {
		var wg sync.WaitGroup
		rs := make([]result, 2)
		for j := range rs {
			a.version = fmt.Sprintf("v%d-%d", i+2, j)
			p := e.write(a)
			wg.Add(1)
			go func() { defer wg.Done(); rs[j] = e.berth("deploy", "-f", p) }()
		}
		wg.Wait()
		for _, r := range rs {
			if r.code == 5 && !idRef.MatchString(r.stderr) {
				t.Fatalf("busy message names no deployment ID: %s", r)
			}
		}
	}
}
