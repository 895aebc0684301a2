package e2e

import (
	"fmt"
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
