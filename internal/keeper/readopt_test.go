package keeper

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	berthrt "github.com/berth-dev/berth/internal/runtime"
)

// stashed returns an Ensure config for dir whose pipes a running PipeStash
// holds, as the daemon's does.
func stashed(t *testing.T, dir string, cm containment) EnsureConfig {
	t.Helper()
	cfg := ensureConfig(dir)
	if cm.noCgroups {
		cfg.Args = append(cfg.Args, "--no-cgroups")
	}
	cfg.Pipes = NewPipeStash()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { cfg.Pipes.Run(ctx, dir) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return cfg
}

// numbered prints 1, 2, 3, ... as fast as sh can (one line per 2 ms) and
// keeps a child, so re-adoption must also cover the tree.
func numbered(dir, id string) berthrt.Instance {
	return agent(dir, id, "always", "sh", "-c",
		`sleep 1000 & i=0; while :; do i=$((i+1)); echo "n $i"; sleep 0.002; done`)
}

// TestReadoptAfterKeeperKill: kill -9 of the keeper while an agent prints
// numbered lines; the next keeper, given the pipes the stash held,
// re-adopts the same process (not a restart), reads on, and stops its whole
// tree. Every number reaches the log.
func TestReadoptAfterKeeperKill(t *testing.T) {
	t.Parallel()
	for _, cm := range containments(t) {
		t.Run(cm.name, func(t *testing.T) {
			t.Parallel()
			dir := runDir(t)
			cleanupKeeper(t, dir)
			cfg := stashed(t, dir, cm)
			ctx := t.Context()
			c, err := Ensure(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			id := uniqueID(t, "readopt")
			st, err := c.Start(ctx, numbered(dir, id))
			if err != nil {
				t.Fatal(err)
			}
			var kids []int
			if !waitUntil(10*time.Second, func() bool { kids = children(st.PID); return len(kids) == 1 && cfg.Pipes.Len() == 2 }) {
				t.Fatalf("agent %d: children %v, stash holds %d pipes; want 1 child and 2 pipes", st.PID, kids, cfg.Pipes.Len())
			}
			time.Sleep(300 * time.Millisecond)
			killKeeper(t, c)
			time.Sleep(500 * time.Millisecond) // the agent writes on into the pipe
			c2, err := Ensure(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			st2, err := c2.Status(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if st2.PID != st.PID || !st2.Adopted || st2.OutputLost || st2.State != berthrt.StateRunning {
				t.Fatalf("after the keeper's death: %+v; want pid %d running, adopted, output kept", st2, st.PID)
			}
			info, _ := c2.info(ctx)
			if info.Recovery.Adopted != 1 {
				t.Errorf("recovery %+v, want 1 adopted", info.Recovery)
			}
			time.Sleep(300 * time.Millisecond)
			stopped, err := c2.Stop(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, pid := range append([]int{st.PID}, kids...) {
				if alive(pid) {
					t.Errorf("process %d alive after stopping the adopted instance", pid)
				}
			}
			if stopped.LastExit != "unknown (adopted)" {
				t.Errorf("last exit %q, want %q", stopped.LastExit, "unknown (adopted)")
			}
			missing, dups, top := numberGaps(readLog(t, st.LogPath))
			t.Logf("%d numbers, %d written twice, missing %v", top, dups, missing)
			if top < 20 || len(missing) > 0 {
				t.Errorf("log has numbers up to %d, missing %v", top, missing)
			}
			evs, _ := c2.Events(ctx, 0)
			if !slices.ContainsFunc(evs, func(e Event) bool {
				return e.ID == id && e.Kind == EventRecovered && strings.Contains(e.Message, "re-adopted")
			}) {
				t.Errorf("no re-adopted event in %+v", evs)
			}
		})
	}
}

// numberGaps reads "out n K" lines and returns the numbers missing below
// the highest, how many came twice, and the highest.
func numberGaps(lines []string) (missing []int, dups, top int) {
	seen := map[int]bool{}
	for _, l := range lines {
		s, ok := strings.CutPrefix(l, "out n ")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			continue
		}
		if seen[n] {
			dups++
		}
		seen[n] = true
		top = max(top, n)
	}
	for i := 1; i <= top; i++ {
		if !seen[i] {
			missing = append(missing, i)
			if len(missing) > 20 {
				break
			}
		}
	}
	return missing, dups, top
}

// TestAdoptedExitRestarts: an adopted agent that dies is noticed through
// its pidfd (not the keeper's child), its exit is "unknown (adopted)" and
// the restart policy starts it again.
func TestAdoptedExitRestarts(t *testing.T) {
	t.Parallel()
	dir := runDir(t)
	cleanupKeeper(t, dir)
	cfg := stashed(t, dir, containment{name: "default"})
	ctx := t.Context()
	c, err := Ensure(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id := uniqueID(t, "adoptexit")
	st, err := c.Start(ctx, counter(dir, id))
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(10*time.Second, func() bool { return cfg.Pipes.Len() == 2 })
	killKeeper(t, c)
	c2, err := Ensure(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if s, _ := c2.Status(ctx, id); s.PID != st.PID || !s.Adopted {
		t.Fatalf("status %+v, want pid %d adopted", s, st.PID)
	}
	syscall.Kill(st.PID, syscall.SIGKILL)
	st2 := waitStatus(t, c2, id, "restarted", func(s berthrt.Status) bool {
		return s.State == berthrt.StateRunning && s.PID != st.PID && s.PID != 0
	})
	if st2.LastExit != "unknown (adopted)" || st2.Adopted {
		t.Errorf("after the adopted process died: %+v; want last exit unknown (adopted), a fresh run", st2)
	}
}

// TestReadoptFullPipe: an agent printing as fast as it can fills its pipe
// (1 MiB) while no keeper reads; it blocks, loses nothing, and the new
// keeper's recovered event says the pipe was full.
func TestReadoptFullPipe(t *testing.T) {
	t.Parallel()
	dir := runDir(t)
	cleanupKeeper(t, dir)
	cfg := stashed(t, dir, containment{name: "default"})
	ctx := t.Context()
	c, err := Ensure(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id := uniqueID(t, "fullpipe")
	st, err := c.Start(ctx, agent(dir, id, "always", "sh", "-c", `i=0; while :; do i=$((i+1)); echo "n $i"; done`))
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(10*time.Second, func() bool { return cfg.Pipes.Len() == 2 })
	killKeeper(t, c)
	// Bounded wait until a pipe is full (read through the stash's
	// duplicates): its writer then blocks.
	full := waitUntil(20*time.Second, func() bool {
		for _, f := range cfg.Pipes.Files() {
			if n, c, err := pipeFill(f); err == nil && pipeFull(n, c) {
				return true
			}
		}
		return false
	})
	if !full {
		t.Fatal("the agent never blocked on its full pipe")
	}
	c2, err := Ensure(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	time.Sleep(500 * time.Millisecond)
	if _, err := c2.Stop(ctx, id); err != nil {
		t.Fatal(err)
	}
	evs, _ := c2.Events(ctx, 0)
	i := slices.IndexFunc(evs, func(e Event) bool { return e.ID == id && e.Kind == EventRecovered })
	if i < 0 || !strings.Contains(evs[i].Message, "a pipe was full") {
		t.Errorf("recovered event %+v, want it to say the pipe was full", evs)
	} else {
		t.Log(evs[i].Message)
	}
	missing, dups, top := numberGaps(readLog(t, st.LogPath))
	t.Logf("%d numbers, %d written twice, missing %v", top, dups, missing)
	if top < 1000 || len(missing) > 0 {
		t.Errorf("log has numbers up to %d, missing %v", top, missing)
	}
}
