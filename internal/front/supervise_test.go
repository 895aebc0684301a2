package front

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pidsIn returns the pids a test daemon wrote, one a line.
func pidsIn(t *testing.T, path string) []int {
	t.Helper()
	b, _ := os.ReadFile(path)
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// TestSupervisorRestartsADeadDaemon registers a real process as the
// daemon, kills it, and checks that the front starts it again with the
// same command and output file, and that a released daemon stays dead.
func TestSupervisorRestartsADeadDaemon(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	spec := DaemonSpec{Exe: "/bin/sh", Args: []string{"-c", "echo $$; exec sleep 60"}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: dir}
	logf, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	first := exec.Command(spec.Exe, spec.Args...)
	first.Stdout = logf
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	go first.Wait()
	spec.PID = first.Process.Pid

	ctx, cancel := context.WithCancel(context.Background())
	s := &supervisor{log: slog.New(slog.DiscardHandler)}
	done := make(chan struct{})
	go func() { s.run(ctx); close(done) }()
	defer func() { cancel(); <-done; s.close() }()
	if err := s.supervise(&spec, []*os.File{dupOrFatal(t, logf), dupOrFatal(t, logf)}); err != nil {
		t.Fatal(err)
	}

	for deadline := time.Now().Add(5 * time.Second); len(pidsIn(t, out)) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	killed := time.Now()
	syscall.Kill(spec.PID, syscall.SIGKILL)
	var again int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if pids := pidsIn(t, out); len(pids) >= 2 {
			again = pids[len(pids)-1]
			break
		}
	}
	if again == 0 {
		t.Fatalf("the daemon was not started again within 5s; output %v", pidsIn(t, out))
	}
	t.Logf("restarted as pid %d %s after the kill", again, time.Since(killed).Round(time.Millisecond))
	defer syscall.Kill(again, syscall.SIGKILL)

	// The restarted process is watched under the same registration; once
	// released it is not restarted.
	s.release(again)
	syscall.Kill(again, syscall.SIGKILL)
	time.Sleep(time.Second)
	if pids := pidsIn(t, out); len(pids) != 2 {
		t.Errorf("a released daemon was restarted: pids %v", pids)
	}
}

func dupOrFatal(t *testing.T, f *os.File) *os.File {
	t.Helper()
	d, err := dupOf(f)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestBackoff walks the restart delays of a process dying in a loop.
func TestBackoff(t *testing.T) {
	var b backoff
	tests := []struct {
		name string
		ran  time.Duration
		want time.Duration
	}{
		{"first death at once", time.Second, 0},
		{"second at once", time.Second, 0},
		{"third at once", time.Second, 0},
		{"fourth short run in a row waits 1s", time.Second, time.Second},
		{"then 2s", time.Second, 2 * time.Second},
		{"a run of 20s keeps the delay growing", 20 * time.Second, 4 * time.Second},
		{"a long run resets", 2 * time.Minute, 0},
		{"the death after it at once", time.Second, 0},
	}
	for _, tt := range tests {
		if got, _ := b.next(tt.ran); got != tt.want {
			t.Errorf("%s: wait %s, want %s", tt.name, got, tt.want)
		}
	}
}
