package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/state"
)

// slowChecks gives a slow-starting agent the time it needs.
const slowChecks = `
[[checks]]
name = "up"
type = "http"
path = "/up"
interval = "200ms"
timeout = "1s"
retries = 2
start_period = "60s"
`

// slowApp is a release whose agent listens only after a few seconds.
func slowApp(name, version string, port int) app {
	return app{name: name, version: version, mode: "good", listen: port, checks: slowChecks,
		command: []string{"/bin/sh", "-c", "sleep 4; exec " + berthBin + " sample-agent"}}
}

// running is a berth CLI process the test started and talks to.
type running struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr bytes.Buffer
	out    bytes.Buffer
	done   chan struct{}
	cancel context.CancelFunc
}

// startBerth starts the CLI without waiting for it; its stdout lines arrive
// on lines.
func (e *env) startBerth(args ...string) *running {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	cmd := exec.CommandContext(ctx, berthBin, append([]string{"--home", e.home}, args...)...)
	cmd.Env = append(cmd.Environ(), "NO_COLOR=1")
	r := &running{cmd: cmd, lines: make(chan string, 256), done: make(chan struct{}), cancel: cancel}
	cmd.Stderr = &r.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		defer close(r.done)
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			r.out.WriteString(s.Text() + "\n")
			select {
			case r.lines <- s.Text():
			default:
			}
		}
	}()
	e.t.Cleanup(func() { cancel(); <-r.done; _ = cmd.Wait() })
	return r
}

// waitLine waits for a stdout line containing sub.
func (r *running) waitLine(t *testing.T, sub string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l := <-r.lines:
			if strings.Contains(l, sub) {
				return
			}
		case <-r.done:
			t.Fatalf("berth ended before printing %q:\n%s\nstderr:\n%s", sub, r.out.String(), r.stderr.String())
		case <-deadline:
			t.Fatalf("berth printed no %q within 30s:\n%s", sub, r.out.String())
		}
	}
}

// wait returns the process's exit code once it ended.
func (r *running) wait(t *testing.T) int {
	t.Helper()
	<-r.done
	err := r.cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("waiting for berth: %v", err)
	}
	return r.cmd.ProcessState.ExitCode()
}

// TestInterruptedDeployGoesOnAndAbort: SIGINT to `berth deploy` of a slow
// agent ends the client with a message saying the deploy goes on and how
// to follow or stop it; the deploy finishes (the client's going away does
// not cancel it), and `berth deploy --attach` follows it to its end. A
// second slow deploy stopped with `berth abort` ends aborted (exit 3 for
// its client) and the previous release serves.
func TestInterruptedDeployGoesOnAndAbort(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	e.mustDeploy(app{name: "slow", version: "v1", mode: "good", listen: port})
	e.waitAnswer(port, "hello from v1")

	p2 := e.write(slowApp("slow", "v2", port))
	dep := e.startBerth("deploy", "-f", p2)
	dep.waitLine(t, "start green")
	if err := dep.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := dep.wait(t); code != 130 {
		t.Errorf("interrupted deploy client: exit %d, want 130", code)
	}
	for _, want := range []string{"goes on", "berth deploy --attach slow", "berth events -f slow", "berth abort slow"} {
		if !strings.Contains(dep.stderr.String(), want) {
			t.Errorf("interrupted deploy says no %q:\n%s", want, dep.stderr.String())
		}
	}
	r := e.berth("deploy", "--attach", "slow")
	t.Logf("interrupted client:\n%s%s\nberth deploy --attach:\n%s", dep.out.String(), dep.stderr.String(), r.stdout)
	if r.code != 0 || !strings.Contains(r.stdout, "live: green") || !strings.Contains(r.stdout, "start green") {
		t.Errorf("berth deploy --attach: want the steps and the live line, exit 0: %s", r)
	}
	if d := e.latest("slow"); d.Outcome != state.OutcomeSucceeded {
		t.Fatalf("the interrupted deploy ended %s (%s), want succeeded", d.Outcome, d.Reason)
	}
	e.waitAnswer(port, "hello from v2")
	v2 := e.liveInstance("slow")
	e.notePIDs("slow")

	p3 := e.write(slowApp("slow", "v3", port))
	dep = e.startBerth("deploy", "-f", p3)
	dep.waitLine(t, "start blue")
	r = e.berth("abort", "slow")
	t.Logf("berth abort:\n%s", r.stdout)
	if r.code != 0 || !strings.Contains(r.stdout, "aborted") {
		t.Errorf("berth abort: %s", r)
	}
	if code := dep.wait(t); code != 3 {
		t.Errorf("the aborted deploy's client: exit %d, want 3:\n%s", code, dep.out.String())
	}
	t.Logf("the aborted deploy's client:\n%s", dep.out.String())
	d := e.latest("slow")
	if d.Outcome != "aborted" || !strings.Contains(d.Reason, "aborted") {
		t.Errorf("the aborted deploy ended %s (%s), want aborted", d.Outcome, d.Reason)
	}
	for _, s := range d.Steps {
		if s.Name == "switch to blue" || s.Name == "commit" {
			t.Errorf("the aborted deploy ran %q", s.Name)
		}
	}
	if live := e.liveInstance("slow"); live.Release != v2.Release || live.PID != v2.PID {
		t.Errorf("live after abort: %s pid %d, want v2 %s pid %d", live.Release, live.PID, v2.Release, v2.PID)
	}
	e.waitAnswer(port, "hello from v2")
	if r := e.berth("abort", "slow"); r.code != 6 {
		t.Errorf("berth abort with no deploy running: want exit 6, got %s", r)
	}
}
