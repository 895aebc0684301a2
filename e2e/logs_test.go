package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An agent writing as fast as it can through many rotations, with the
// daemon killed (-9) and restarted in the middle: berth logs gives back
// every line once, in order, across rotated and compressed files.
func TestLogsLoseNothingAcrossRotationsAndDaemonKill(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const total = 200_000
	e.mustDeploy(app{name: "chatty", version: "v1", mode: "counter", env: map[string]string{"COUNT": strconv.Itoa(total), "PACE": "30ms"},
		extra: "\n[logs]\nmax_size = \"64KB\"\nkeep = 1000\ncompress = true\nmax_total = \"1GB\"\n"})
	// The agent paces itself to about 6 s of output; kill the daemon in it.
	e.stopDaemon(syscall.SIGKILL)
	time.Sleep(500 * time.Millisecond) // the agent keeps writing meanwhile
	e.startDaemon()
	if n := len(strings.Split(e.berth("logs", "chatty", "-n", "0").stdout, "\n")); n >= total {
		t.Fatalf("the agent had finished (%d lines) before the daemon came back: the test proves nothing", n)
	}
	var lines []string
	e.eventually(60*time.Second, "every line in the log", func() error {
		r := e.berth("logs", "chatty", "-n", "0")
		if r.code != 0 {
			return fmt.Errorf("berth logs: %s", r)
		}
		lines = strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) < total {
			return fmt.Errorf("%d lines so far", len(lines))
		}
		return nil
	})
	want := 1
	for _, l := range lines {
		f := strings.Fields(l) // "15:04:05.000 out seq 17"
		if len(f) != 4 || f[2] != "seq" {
			continue // the agent's own messages
		}
		if f[3] != strconv.Itoa(want) {
			t.Fatalf("line %d of the log is %q, want seq %d (lost or repeated)", want, l, want)
		}
		want++
	}
	if want != total+1 {
		t.Fatalf("read %d sequence lines, want %d", want-1, total)
	}
	st := e.liveInstance("chatty")
	if st.LogDropped != 0 {
		t.Fatalf("%d lines dropped", st.LogDropped)
	}
}

// The log directory vanishing under a running agent is a fault berth rides
// out: the agent keeps running, the daemon keeps answering, and logging
// resumes in a recreated file.
func TestLogDirectoryRemovedUnderTheAgent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustDeploy(app{name: "gone", version: "v1", mode: "counter", env: map[string]string{"COUNT": "1000000", "PACE": "50ms"}})
	before := e.liveInstance("gone")
	logDir := filepath.Join(e.home, "logs", "gone")
	if err := os.RemoveAll(logDir); err != nil {
		t.Fatal(err)
	}
	e.eventually(30*time.Second, "the log file to come back with new lines", func() error {
		lines := readLines(filepath.Join(logDir, before.Color+".log"))
		if len(lines) < 10 {
			return fmt.Errorf("%d lines in the recreated log", len(lines))
		}
		return nil
	})
	after := e.liveInstance("gone")
	if after.PID != before.PID || after.State != "running" {
		t.Fatalf("the agent did not ride it out: pid %d -> %d, state %s", before.PID, after.PID, after.State)
	}
}
