package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/state"
)

// kill says when TestKillDaemonAtEachStep kills the daemon: as soon as the
// deploy prints the end of step after (so as the next begins) or, with
// during, once the journal shows that step running: the long steps.
type kill struct{ after, during string }

// blueGreenKills walk the steps of a blue-green deploy over a live release.
var blueGreenKills = []kill{
	{after: "install release"}, {after: "bind"}, {after: "prepare"}, {after: "start"},
	{after: "start", during: "health"}, {after: "health"}, {after: "switch to"},
	{after: "switch to", during: "verify"}, {after: "verify"}, {after: "commit"},
	{after: "drain"}, {after: "keep"},
}

// TestKillDaemonAtEachStep kills the daemon with SIGKILL in the middle of a
// blue-green deploy, once per step, restarts it, and checks that what it
// says afterwards is consistent: the deployment is journaled as
// interrupted (or done), the live release is the old one unless the commit
// step had ended, the proxy serves that release, and no instance runs that
// status does not list. The data path lives in the front, not in the
// daemon, so the load running through every kill must see 0 failures.
func TestKillDaemonAtEachStep(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	tag := fmt.Sprintf("k9-%d", port)
	a := app{name: "k9", version: "v1", mode: "good", listen: port, verify: "1s",
		env: map[string]string{"FAULT_TAG": tag}}
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v1")
	versions := map[string]string{e.latest("k9").Release: "v1"}

	ld := startLoad(port, 2)
	defer ld.stop()
	for k, at := range blueGreenKills {
		a.version = fmt.Sprintf("v%d", k+2)
		ran := e.deployAndKill(a, at)
		d := e.latest("k9")
		versions[d.Release] = a.version
		t.Logf("killed %+v: deployment %s %s live %q, steps %v; deploy said %s",
			at, d.ID, d.Outcome, d.Live, stepNames(d), ran)
		e.checkAfterKill(d, port, tag, versions)
	}
	ld.stop()
	t.Logf("load: %d of %d requests failed across %d daemon kills", ld.failed.Load(), ld.sent.Load(), len(blueGreenKills))
	if n := ld.failed.Load(); n != 0 {
		t.Errorf("%d requests failed across the daemon kills, want 0; first: %v", n, ld.errs())
	}
}

// deployAndKill starts a deploy of a, kills the daemon with SIGKILL at the
// point at names, and starts the daemon again. It returns how the deploy's
// CLI ended.
func (e *env) deployAndKill(a app, at kill) string {
	e.t.Helper()
	p := e.write(a)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, "--home", e.home, "deploy", "-f", p)
	cmd.Env = append(cmd.Environ(), "NO_COLOR=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	var lines []string
	killed := false
	s := bufio.NewScanner(out)
	for s.Scan() {
		lines = append(lines, s.Text())
		if !killed && stepEnded(s.Text(), at.after) {
			if at.during != "" {
				e.eventually(10*time.Second, at.during+" running", func() error {
					return lastStepRunning(e.home, a.name, at.during)
				})
			}
			_ = e.daemon.Process.Kill()
			<-e.waited
			e.daemon, killed = nil, true
		}
	}
	werr := cmd.Wait()
	if !killed {
		e.t.Fatalf("the deploy never printed the end of %q:\n%s", at.after, strings.Join(lines, "\n"))
	}
	e.startDaemon()
	e.notePIDs(a.name)
	return fmt.Sprintf("%v after %d lines", werr, len(lines))
}

// lastStepRunning says whether the app's newest deployment is running the
// step named (by prefix), from `berth history --json`.
func lastStepRunning(home, name, step string) error {
	r := runBerth(home, "history", name, "--json", "-n", "1")
	var ds []state.Deployment
	if err := json.Unmarshal([]byte(r.stdout), &ds); err != nil || len(ds) == 0 {
		return fmt.Errorf("berth history: %v: %s", err, r)
	}
	steps := ds[0].Steps
	if len(steps) == 0 {
		return errors.New("no step yet")
	}
	if s := steps[len(steps)-1]; !strings.HasPrefix(s.Name, step) || s.Outcome != state.StepRunning {
		return fmt.Errorf("last step %s is %s", s.Name, s.Outcome)
	}
	return nil
}

// stepEnd matches the line the deploy prints when a step ends:
// "  1.23s   health blue            ok       412ms  detail"; a note printed
// during a step has no mark and duration after the name.
var stepEnd = regexp.MustCompile(`^\s*\d+\.\d+s\s+(.+?)\s+(ok|FAILED)\s+\S+(\s\s|$)`)

// stepEnded reports whether a progress line is the end of the named step.
func stepEnded(line, step string) bool {
	m := stepEnd.FindStringSubmatch(line)
	return m != nil && strings.HasPrefix(m[1], step)
}

// checkAfterKill checks that the restarted daemon tells one consistent
// story about the deployment d that the kill cut.
func (e *env) checkAfterKill(d state.Deployment, port int, tag string, versions map[string]string) {
	t := e.t
	t.Helper()
	committed := false
	for _, s := range d.Steps {
		if s.Name == "commit" && s.Outcome == state.StepOK {
			committed = true
		}
	}
	switch d.Outcome {
	case state.OutcomeInterrupted:
		if d.Reason == "" || d.EndedAt.IsZero() {
			t.Errorf("deployment %s interrupted without a reason or an end: %+v", d.ID, d)
		}
	case state.OutcomeSucceeded:
	default:
		t.Errorf("deployment %s is %s after a daemon kill, want interrupted or succeeded", d.ID, d.Outcome)
	}
	for _, s := range d.Steps {
		if s.Outcome == "running" {
			t.Errorf("deployment %s: step %q still running after the restart", d.ID, s.Name)
		}
	}
	want := d.FromRelease
	if committed || d.Outcome == state.OutcomeSucceeded {
		want = d.Release
	}
	// Killed inside the commit step: the store's switch of the live color
	// may have happened just before the kill, without the step's end being
	// journaled. Either release is then consistent, as long as history,
	// status and the proxy agree (checked below).
	for _, s := range d.Steps {
		if s.Name != "commit" || s.Outcome != state.StepInterrupted {
			continue
		}
		if in := e.liveInstance("k9"); in.Color == d.Live && (in.Release == d.Release || in.Release == d.FromRelease) {
			want = in.Release
		}
	}
	live := e.liveInstance("k9")
	if live.Release != want || live.State != "running" {
		t.Errorf("after the kill (commit ended: %v) live is %s %s, want release %s running",
			committed, live.Release, live.State, want)
	}
	if d.Live != live.Color {
		t.Errorf("history says %q live at the end of deployment %s, status says %s", d.Live, d.ID, live.Color)
	}
	e.waitAnswer(port, "hello from "+versions[want])
	if st := e.status("k9"); st.Deploying != "" {
		t.Errorf("status says deploying %q after the restart", st.Deploying)
	}
	// No orphan: every agent alive is one status lists, live or warm.
	e.eventually(10*time.Second, "no orphan instance", func() error {
		listed := e.instancePIDs("k9")
		for _, in := range e.status("k9").Instances {
			if !in.Live && !in.Warm && in.State == "running" {
				return fmt.Errorf("instance %s runs, neither live nor warm", in.ID)
			}
		}
		running := taggedPIDs(tag)
		for _, pid := range running {
			if _, ok := listed[pid]; !ok {
				return fmt.Errorf("agent pid %d runs but status lists only %v", pid, listed)
			}
		}
		if len(running) == 0 || len(running) > 2 {
			return fmt.Errorf("%d agents run, want the live one and at most one warm", len(running))
		}
		return nil
	})
	evs := e.events("k9")
	if msg := finishedEvent(t, evs, d.ID); msg != "" && !strings.HasPrefix(msg, d.Outcome+":") {
		t.Errorf("deploy.finished event of deployment %s is %q, want it to say %s", d.ID, msg, d.Outcome)
	}
	if !slices.ContainsFunc(evs, func(ev eventLine) bool { return strings.HasPrefix(ev.Kind, "restore.") }) {
		t.Errorf("no restore.* event after the restart")
	}
}
