package state

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The crash test re-executes this test binary as a writer; these variables
// tell the child where to write and from which counter.
const (
	crashEnvDB    = "BERTH_STATE_CRASH_DB"
	crashEnvStart = "BERTH_STATE_CRASH_START"
)

// Small limits so pruning, too, is cut short by the kill.
var crashOpts = []Option{WithMaxEvents(40), WithMaxDeployments(8)}

// TestCrashConsistency SIGKILLs a writer in the middle of a stream of writes,
// several times over the same file, and checks after each kill that the file
// opens, passes bbolt's page check, that every record read is whole, and that
// every write the child reported as returned is there.
func TestCrashConsistency(t *testing.T) {
	if path := os.Getenv(crashEnvDB); path != "" {
		start, _ := strconv.Atoi(os.Getenv(crashEnvStart))
		crashWriter(path, start)
		return
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "berth.db")
	last := 0
	for round := range 4 {
		// Kill after a random number of writes so the kill lands at a
		// different point of the write cycle each round.
		after := last + 10 + rand.IntN(40)
		last = killWriter(t, path, last+1, after)
		t.Logf("round %d: killed after cycle %d", round, last)
		verifyCrashed(t, path, last)
		if t.Failed() {
			t.Fatalf("round %d: inconsistent after kill at counter %d", round, last)
		}
	}
}

// killWriter runs the child from counter start, SIGKILLs it once it has
// reported counter after, and returns the last counter it reported.
func killWriter(t *testing.T, path string, start, after int) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashConsistency$")
	cmd.Env = append(os.Environ(), crashEnvDB+"="+path, crashEnvStart+"="+strconv.Itoa(start))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	last := start - 1
	for last < after {
		n, err := readCounter(r)
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child stopped before the kill: %v\n%s", err, stderr.String())
		}
		last = n
	}
	// Reading a counter happens right after a cycle ends; a random pause
	// moves the kill to any write of the next cycle.
	time.Sleep(time.Duration(rand.IntN(8000)) * time.Microsecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Counters already in the pipe were reported before the kill.
	for {
		n, err := readCounter(r)
		if err != nil {
			break
		}
		last = n
	}
	werr := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(werr, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL\n%s", werr, stderr.String())
	}
	return last
}

// readCounter reads one "n\n" line; a line cut short by the kill is an error.
func readCounter(r *bufio.Reader) (int, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("reading counter: %w", err)
	}
	return strconv.Atoi(strings.TrimSuffix(line, "\n"))
}

// crashWriter writes forever; each record's fields all derive from one
// counter n, so a record mixing two writes shows up as a mismatch. It prints
// n once every write of cycle n has returned.
func crashWriter(path string, start int) {
	s, err := Open(path, append([]Option{WithOpenTimeout(5 * time.Second)}, crashOpts...)...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for n := start; ; n++ {
		if err := writeCycle(s, n); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(n)
	}
}

func writeCycle(s *Store, n int) error {
	app := "app-" + strconv.Itoa(n%3)
	err := s.UpdateApp(app, func(a *App) error {
		*a = crashApp(app, n)
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := s.AddEvent(Event{App: app, Kind: "cycle", Message: strconv.Itoa(n), Fields: map[string]string{"n": strconv.Itoa(n)}}); err != nil {
		return err
	}
	d, err := s.BeginDeployment(Deployment{App: app, Kind: KindDeploy, Release: "r" + strconv.Itoa(n)})
	if err != nil {
		return err
	}
	d.Steps = crashSteps(n)
	d.Outcome = OutcomeSucceeded
	return s.PutDeployment(d)
}

func crashApp(name string, n int) App {
	r := "r" + strconv.Itoa(n)
	return App{
		Name:     name,
		SpecFile: "/srv/" + strconv.Itoa(n) + "/berth.toml",
		// Large enough, at times, to span more than one page.
		Spec:   bytes.Repeat([]byte(r+";"), 1+n%7*400),
		Live:   Blue,
		Colors: map[string]Color{Blue: {Release: r}, Green: {Release: r}},
		Ports:  map[string]int{Blue: n, Green: n + 1},
	}
}

func crashSteps(n int) []Step {
	steps := make([]Step, 1+n%5)
	for i := range steps {
		steps[i] = Step{Name: "step", Outcome: StepOK, Detail: strconv.Itoa(n)}
	}
	return steps
}

// verifyCrashed opens the file left by a killed writer and checks it.
// reported is the last counter the writer said was fully written.
func verifyCrashed(t *testing.T, path string, reported int) {
	t.Helper()
	s, err := Open(path, crashOpts...)
	if err != nil {
		t.Fatalf("reopening after kill: %v", err)
	}
	defer s.Close()
	checkFile(t, s)

	apps, err := s.ListApps()
	if err != nil {
		t.Fatalf("ListApps: %v", err)
	}
	newest := 0
	for _, a := range apps {
		n := a.Ports[Blue]
		if diff := crashAppDiff(a, n); diff != "" {
			t.Errorf("app %s is torn (-want +got):\n%s", a.Name, diff)
		}
		newest = max(newest, n)
	}
	if newest < reported {
		t.Errorf("newest app write is %d, but the writer reported %d as done", newest, reported)
	}
	verifyCrashedEvents(t, s, reported)
	verifyCrashedDeployments(t, s, apps)
}

func crashAppDiff(a App, n int) string {
	want := crashApp(a.Name, n)
	want.UpdatedAt = a.UpdatedAt
	return cmp.Diff(want, a)
}

func verifyCrashedEvents(t *testing.T, s *Store, reported int) {
	t.Helper()
	events, err := s.Events("", 0, 0)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	if len(events) == 0 || len(events) > 40 {
		t.Fatalf("journal holds %d events, want 1..40", len(events))
	}
	for i, e := range events {
		if i > 0 && e.Seq != events[i-1].Seq+1 {
			t.Errorf("journal skips from seq %d to %d", events[i-1].Seq, e.Seq)
		}
		if e.Fields["n"] != e.Message {
			t.Errorf("event %d is torn: message %q, n %q", e.Seq, e.Message, e.Fields["n"])
		}
	}
	if n, _ := strconv.Atoi(events[len(events)-1].Message); n < reported {
		t.Errorf("newest event is from cycle %d, but the writer reported %d as done", n, reported)
	}
}

func verifyCrashedDeployments(t *testing.T, s *Store, apps []App) {
	t.Helper()
	for _, a := range apps {
		ds, err := s.ListDeployments(a.Name, 0)
		if err != nil {
			t.Fatalf("ListDeployments(%s): %v", a.Name, err)
		}
		for _, d := range ds {
			n, _ := strconv.Atoi(strings.TrimPrefix(d.Release, "r"))
			switch d.Outcome {
			case OutcomeRunning: // killed between Begin and Put
				if len(d.Steps) != 0 {
					t.Errorf("deployment %s/%s running with steps", d.App, d.ID)
				}
			case OutcomeSucceeded:
				if diff := cmp.Diff(crashSteps(n), d.Steps); diff != "" {
					t.Errorf("deployment %s/%s (release %s) is torn (-want +got):\n%s", d.App, d.ID, d.Release, diff)
				}
			default:
				t.Errorf("deployment %s/%s has outcome %q", d.App, d.ID, d.Outcome)
			}
		}
	}
}
