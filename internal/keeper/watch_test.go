package keeper

import (
	"context"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	berthrt "github.com/berth-dev/berth/internal/runtime"
)

// watched starts Watch on dir and returns its reports; Watch ends before
// the keeper's cleanup runs, so it does not restart the keeper cleanup stops.
func watched(t *testing.T, dir string) func() []string {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var msgs []string
	var wg sync.WaitGroup
	wg.Go(func() {
		Watch(ctx, ensureConfig(dir), func(msg string, loop bool) {
			mu.Lock()
			defer mu.Unlock()
			if loop {
				msg = "LOOP " + msg
			}
			msgs = append(msgs, msg)
		})
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), msgs...)
	}
}

// killKeeper SIGKILLs the keeper c talks to and waits until it is gone.
func killKeeper(t *testing.T, c *Client) int {
	t.Helper()
	pid, err := c.PID(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	if !waitUntil(10*time.Second, func() bool { return !alive(pid) }) {
		t.Fatalf("keeper %d survived SIGKILL", pid)
	}
	return pid
}

// TestWatchReplacesKilledKeeper: after kill -9 of the keeper, calls on the
// same client wait out the gap and reach the new keeper; start, stop and
// remove work at once.
func TestWatchReplacesKilledKeeper(t *testing.T) {
	t.Parallel()
	c, dir := newKeeper(t)
	reports := watched(t, dir)
	ctx := t.Context()
	id := uniqueID(t, "watch")
	if _, err := c.Start(ctx, counter(dir, id)); err != nil {
		t.Fatal(err)
	}
	old := killKeeper(t, c)
	// No Ensure here: the same client must reach the keeper Watch starts,
	// and a call made during the gap waits for it instead of failing.
	if _, err := c.List(ctx); err != nil {
		t.Fatalf("call during the keeper's replacement: %v", err)
	}
	st := waitStatus(t, c, id, "running under the new keeper", isState(berthrt.StateRunning))
	if pid, err := c.PID(ctx); err != nil || pid == old {
		t.Fatalf("keeper pid %d (err %v) after killing %d", pid, err, old)
	}
	if _, err := c.Stop(ctx, id); err != nil {
		t.Fatalf("stop after a keeper crash: %v", err)
	}
	if alive(st.PID) {
		t.Errorf("agent %d alive after stop", st.PID)
	}
	if err := c.Remove(ctx, id); err != nil {
		t.Fatalf("remove after a keeper crash: %v", err)
	}
	if r := reports(); len(r) == 0 || !strings.Contains(r[0], "died") {
		t.Errorf("reports %q, want one saying the keeper died", r)
	}
}

// TestWatchKeeperCrashLoop: a keeper killed again and again is restarted
// each time, with growing delays and a loop report, and its agent runs on.
func TestWatchKeeperCrashLoop(t *testing.T) {
	t.Parallel()
	c, dir := newKeeper(t)
	reports := watched(t, dir)
	ctx := t.Context()
	id := uniqueID(t, "loop")
	if _, err := c.Start(ctx, counter(dir, id)); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		killKeeper(t, c)
		if !waitUntil(30*time.Second, func() bool {
			st, err := c.Status(ctx, id)
			return err == nil && st.State == berthrt.StateRunning
		}) {
			t.Fatalf("not running again after kill %d; reports %q", i+1, reports())
		}
		// The new keeper re-adopts at once and can answer before Watch
		// has its pid: kill it only once Watch watches it.
		if !waitUntil(30*time.Second, func() bool { return countContaining(reports(), "new keeper pid") > i }) {
			t.Fatalf("Watch did not report keeper %d; reports %q", i+2, reports())
		}
	}
	var r []string
	for _, m := range reports() {
		if strings.Contains(m, "died") {
			r = append(r, m)
		}
	}
	if len(r) != 3 {
		t.Fatalf("death reports %q, want 3", r)
	}
	if !strings.HasPrefix(r[2], "LOOP ") || !strings.Contains(r[2], "in 2s") {
		t.Errorf("third report %q, want a loop with a 2s delay", r[2])
	}
}

func countContaining(msgs []string, sub string) int {
	n := 0
	for _, m := range msgs {
		if strings.Contains(m, sub) {
			n++
		}
	}
	return n
}
