package keeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/runtime"
)

// TestMain lets the test binary act as the keeper ("keeper --run-dir DIR",
// the same arguments the CLI takes) and as a daemon that starts one
// ("daemon DIR ID"), so tests run real, separate processes.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "keeper":
			os.Exit(keeperMain(os.Args[2:]))
		case "daemon":
			os.Exit(daemonMain(os.Args[2:]))
		}
	}
	os.Exit(m.Run())
}

func keeperMain(args []string) int {
	noCgroups := len(args) == 3 && args[2] == "--no-cgroups"
	if noCgroups {
		args = args[:2]
	}
	if len(args) != 2 || args[0] != "--run-dir" {
		fmt.Fprintln(os.Stderr, "usage: keeper --run-dir DIR [--no-cgroups]")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := Serve(ctx, Config{RunDir: args[1], Logger: log, NoCgroups: noCgroups}); err != nil {
		log.Error("keeper", "err", err)
		return 1
	}
	return 0
}

// daemonMain plays the daemon: it ensures a keeper, starts a counting agent,
// prints the agent's pid and waits to be killed.
func daemonMain(args []string) int {
	runDir, id := args[0], args[1]
	ctx := context.Background()
	c, err := Ensure(ctx, ensureConfig(runDir))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	st, err := c.Start(ctx, counter(runDir, id))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("pid %d\n", st.PID)
	select {}
}

func ensureConfig(runDir string) EnsureConfig {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return EnsureConfig{
		RunDir: runDir, Exe: exe, Args: []string{"keeper", "--run-dir", runDir},
		LogFile: filepath.Join(runDir, "keeper.log"),
	}
}

// counter prints 1, 2, 3, ... one line every 5ms.
func counter(dir, id string) runtime.Instance {
	return agent(dir, id, "always", "sh", "-c", `i=0; while :; do i=$((i+1)); echo $i; sleep 0.005; done`)
}

func agent(dir, id, restart string, argv ...string) runtime.Instance {
	return runtime.Instance{
		ID: id, App: "test", Argv: argv, Dir: dir,
		Env:     []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
		Restart: restart, StopTimeout: 2 * time.Second,
		LogPath: filepath.Join(dir, "logs", id+".log"),
	}
}

// runDir returns a short run directory (socket paths are limited to 108
// bytes) and removes it at the end.
func runDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "bk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// uniqueID keeps cgroup names apart between parallel tests and runs.
func uniqueID(t *testing.T, name string) string {
	return fmt.Sprintf("%s.%d.%d", name, os.Getpid(), time.Now().UnixNano()%1e9)
}

// newKeeper starts a keeper for a fresh run directory and arranges for it
// and every agent it ran to be gone at the end of the test.
func newKeeper(t *testing.T) (*Client, string) {
	t.Helper()
	dir := runDir(t)
	c, err := Ensure(t.Context(), ensureConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cleanupKeeper(t, dir)
	return c, dir
}

// cleanupKeeper stops every agent of dir, then the keeper, then kills any
// process a dead keeper left (read from state.json, verified by start time),
// and fails the test if the keeper reported a data race.
func cleanupKeeper(t *testing.T, dir string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if c, err := Dial(dir); err == nil {
			sts, _ := c.List(ctx)
			for _, st := range sts {
				c.Stop(ctx, st.ID)
			}
			c.Close()
		}
		if b, err := os.ReadFile(filepath.Join(dir, pidName)); err == nil {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			killAndWait(t, pid)
		}
		if s, err := loadState(filepath.Join(dir, stateName)); err == nil {
			for _, rec := range s.Instances {
				if tg, ok := orphanTarget(rec); ok {
					tg.terminate(0)
				}
			}
		}
		b, _ := os.ReadFile(filepath.Join(dir, "keeper.log"))
		if strings.Contains(string(b), "DATA RACE") {
			t.Errorf("keeper log reports a data race:\n%s", b)
		} else if t.Failed() {
			t.Logf("keeper log:\n%s", b)
		}
	})
}

// killAndWait ends a process the test started (directly or through Ensure).
func killAndWait(t *testing.T, pid int) {
	if pid <= 0 || !alive(pid) {
		return
	}
	syscall.Kill(pid, syscall.SIGTERM)
	if !waitUntil(10*time.Second, func() bool { return !alive(pid) }) {
		syscall.Kill(pid, syscall.SIGKILL)
		waitUntil(10*time.Second, func() bool { return !alive(pid) })
	}
}

// waitUntil polls cond until it holds or d passed.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitStatus polls the status of id until cond holds, failing after 30s.
func waitStatus(t *testing.T, c *Client, id string, what string, cond func(runtime.Status) bool) runtime.Status {
	t.Helper()
	var st runtime.Status
	var err error
	ok := waitUntil(30*time.Second, func() bool {
		st, err = c.Status(t.Context(), id)
		return err == nil && cond(st)
	})
	if !ok {
		t.Fatalf("waiting for %s of %s: last status %+v, err %v", what, id, st, err)
	}
	return st
}

func isState(s runtime.State) func(runtime.Status) bool {
	return func(st runtime.Status) bool { return st.State == s }
}

// readLog returns the log's lines as "stream text", dropping timestamps.
func readLog(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if _, rest, ok := strings.Cut(l, " "); ok {
			out = append(out, rest)
		}
	}
	return out
}
