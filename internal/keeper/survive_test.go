package keeper

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	berthrt "github.com/berth-dev/berth/internal/runtime"
)

// TestKeeperOutlivesDaemon starts the keeper from a child "daemon", kills
// the daemon and its whole process group with SIGKILL, and checks that the
// agent runs on with the same pid and that no output line was lost.
func TestKeeperOutlivesDaemon(t *testing.T) {
	t.Parallel()
	dir := runDir(t)
	cleanupKeeper(t, dir)
	id := uniqueID(t, "out")
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "daemon", dir, id)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading daemon's pid line: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "pid ")))
	if err != nil || pid == 0 {
		t.Fatalf("daemon said %q", line)
	}
	logPath := counter(dir, id).LogPath
	// Kill the daemon mid-stream, with output already flowing.
	if !waitUntil(30*time.Second, func() bool { return len(readLog(t, logPath)) >= 50 }) {
		t.Fatal("agent output does not reach its log")
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	before := len(readLog(t, logPath))

	c, err := Dial(dir)
	if err != nil {
		t.Fatalf("keeper gone with its daemon: %v", err)
	}
	defer c.Close()
	st, err := c.Status(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.PID != pid || st.State != berthrt.StateRunning {
		t.Fatalf("after the daemon died: %+v, want running pid %d", st, pid)
	}
	waitStatus(t, c, id, "more output", func(s berthrt.Status) bool { return s.LogLines > uint64(before+200) })
	if _, err := c.Stop(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	lines := readLog(t, logPath)
	for i, l := range lines {
		if want := fmt.Sprintf("out %d", i+1); l != want {
			t.Fatalf("log line %d is %q, want %q (a line was lost)", i+1, l, want)
		}
	}
	t.Logf("%d lines, %d before the daemon died, none lost", len(lines), before)
}

// TestRecoveryAfterKeeperKill kills the keeper itself with no daemon
// holding the pipes: the new keeper re-adopts the agent (same pid) without
// its output, says so, and a stop still ends its whole tree.
func TestRecoveryAfterKeeperKill(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sig  syscall.Signal
	}{
		{"SIGKILL", syscall.SIGKILL},
		{"SIGTERM leaves agents running", syscall.SIGTERM},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testRecovery(t, tc.sig)
		})
	}
}

func testRecovery(t *testing.T, sig syscall.Signal) {
	c, dir := newKeeper(t)
	ctx := t.Context()
	id := uniqueID(t, "rec")
	in := agent(dir, id, "always", "sh", "-c", "sleep 1000 & sleep 1000; wait")
	st, err := c.Start(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	var kids []int
	if !waitUntil(10*time.Second, func() bool { kids = children(st.PID); return len(kids) == 2 }) {
		t.Fatalf("agent %d has children %v, want 2", st.PID, kids)
	}
	old := append([]int{st.PID}, kids...)
	kpid, err := c.PID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	syscall.Kill(kpid, sig)
	if !waitUntil(10*time.Second, func() bool { return !alive(kpid) }) {
		t.Fatalf("keeper survived %s", sig)
	}
	if !alive(st.PID) {
		t.Fatal("agent died with its keeper; recovery is not exercised")
	}

	c2, err := Ensure(ctx, ensureConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if kpid2, _ := c2.PID(ctx); kpid2 == kpid {
		t.Fatalf("same keeper pid %d after %s", kpid, sig)
	}
	st2 := waitStatus(t, c2, id, "running again", isState(berthrt.StateRunning))
	if st2.PID != st.PID || !st2.Adopted || !st2.OutputLost {
		t.Errorf("after recovery: %+v; want pid %d re-adopted with its output lost", st2, st.PID)
	}
	if _, err := c2.Stop(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, pid := range old {
		if alive(pid) {
			t.Errorf("old process %d still alive after recovery", pid)
		}
	}
	evs, err := c2.Events(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(evs, func(e Event) bool {
		return e.ID == id && e.Kind == EventRecovered && e.PID == st.PID && strings.Contains(e.Message, "pipes were lost")
	}) {
		t.Errorf("no recovered event for pid %d in %+v", st.PID, evs)
	}
}

func TestEnsureConcurrentStartsOneKeeper(t *testing.T) {
	t.Parallel()
	dir := runDir(t)
	cleanupKeeper(t, dir)
	const n = 4
	pids := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := Ensure(t.Context(), ensureConfig(dir))
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			pids[i], _ = c.PID(t.Context())
		})
	}
	wg.Wait()
	for _, p := range pids[1:] {
		if p != pids[0] || p == 0 {
			t.Fatalf("keeper pids %v, want one", pids)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "keeper.log"))
	if n := strings.Count(string(b), "keeper started"); n != 1 {
		t.Errorf("keeper.log shows %d keepers started, want 1:\n%s", n, b)
	}
	fi, err := os.Stat(filepath.Join(dir, sockName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %s, want a socket with 0600", fi.Mode())
	}
	// A second Serve on the same run directory refuses to run.
	err = Serve(context.Background(), Config{RunDir: dir})
	if err == nil || !strings.Contains(err.Error(), ErrKeeperRunning.Error()) {
		t.Errorf("second Serve: %v, want ErrKeeperRunning", err)
	}
}

// TestKeeperRSS measures the keeper's resident memory with 20 agents.
func TestKeeperRSS(t *testing.T) {
	t.Parallel()
	c, dir := newKeeper(t)
	for i := range 20 {
		if _, err := c.Start(t.Context(), agent(dir, fmt.Sprintf("%s.%d", uniqueID(t, "rss"), i), "always", "sleep", "1000")); err != nil {
			t.Fatal(err)
		}
	}
	pid, err := c.PID(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var rss int
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			rss, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	t.Logf("keeper VmRSS with 20 agents: %d kB (race detector: %v, %s)", rss, raceEnabled, runtime.Version())
	if limit := 32 << 10; !raceEnabled && rss > limit {
		t.Errorf("keeper RSS %d kB over %d kB", rss, limit)
	}
	if rss == 0 {
		t.Error("no VmRSS read")
	}
}
