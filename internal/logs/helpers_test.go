package logs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test binary doubles as the agent: with childEnv set it writes
// sequence-numbered lines as fast as it can and exits.
const childEnv = "BERTH_LOGS_TEST_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	os.Exit(m.Run())
}

// runChild writes lines "o <n>" for n in [start, start+count) to stdout and,
// for every n divisible by errEvery, "e <n/errEvery>" to stderr.
func runChild(spec string) int {
	var start, count, errEvery int
	if _, err := fmt.Sscanf(spec, "%d:%d:%d", &start, &count, &errEvery); err != nil {
		fmt.Fprintln(os.Stderr, "bad child spec:", err)
		return 2
	}
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	errw := bufio.NewWriterSize(os.Stderr, 4<<10)
	for n := start; n < start+count; n++ {
		fmt.Fprintf(out, "o %d\n", n)
		if errEvery > 0 && n%errEvery == 0 {
			fmt.Fprintf(errw, "e %d\n", n/errEvery)
		}
	}
	if err := out.Flush(); err != nil {
		return 1
	}
	if err := errw.Flush(); err != nil {
		return 1
	}
	return 0
}

// runAgent runs the child writing [start, start+count) with its stdout and
// stderr piped through Copy into w, and waits for it. It fails the test if
// the child does not exit 0: the agent must never be hurt by its logs.
func runAgent(t *testing.T, w *Writer, start, count, errEvery int) {
	t.Helper()
	if err := startAgent(t, w, start, count, errEvery)(); err != nil {
		t.Fatal(err)
	}
}

// startAgent starts the child and returns a function that waits for it
// and its two Copy loops.
func startAgent(t *testing.T, w *Writer, start, count, errEvery int) func() error {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d:%d:%d", childEnv, start, count, errEvery))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, p := range []struct {
		s Stream
		r io.Reader
	}{{Stdout, stdout}, {Stderr, stderr}} {
		wg.Go(func() { errs[i] = Copy(w, p.s, p.r, nil) })
	}
	return func() error {
		wg.Wait()
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("agent: %w", err)
		}
		for _, err := range errs {
			if err != nil {
				return fmt.Errorf("Copy: %w", err)
			}
		}
		return nil
	}
}

// readAll returns every line Read gives for q.
func readAll(t *testing.T, path string, q Query) []Line {
	t.Helper()
	var lines []Line
	err := Read(context.Background(), path, q, func(l Line) error {
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return lines
}

// checkSeq checks that the lines of each stream ("o n", "e n") carry
// consecutive numbers from the given starts: none lost, none repeated,
// order kept. want maps prefix to [first, end).
func checkSeq(t *testing.T, lines []Line, want map[string][2]int) {
	t.Helper()
	next := map[string]int{}
	for k, r := range want {
		next[k] = r[0]
	}
	for i, l := range lines {
		prefix, num, ok := strings.Cut(l.Text, " ")
		n, err := strconv.Atoi(num)
		if _, known := want[prefix]; !ok || err != nil || !known {
			t.Fatalf("line %d: unexpected %q", i, l.Text)
		}
		if n != next[prefix] {
			t.Fatalf("line %d: got %q, want %s %d (lost or repeated lines)", i, l.Text, prefix, next[prefix])
		}
		next[prefix]++
	}
	for k, r := range want {
		if next[k] != r[1] {
			t.Errorf("stream %q ended at %d, want %d", k, next[k], r[1])
		}
	}
}

// waitFor polls cond until it holds; the deadline only bounds a broken run.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
