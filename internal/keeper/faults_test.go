package keeper

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/runtime"
)

// containment is one way the keeper holds an instance's processes.
type containment struct {
	name      string
	noCgroups bool
}

// containments returns the ways to test here: with a cgroup per instance
// when the host delegates one, and always without (process group and
// lineage), as on a host without delegation.
func containments(t *testing.T) []containment {
	out := []containment{{name: "no-cgroup", noCgroups: true}}
	if _, err := detectCgroups(); err == nil {
		out = append(out, containment{name: "cgroup"})
	} else {
		t.Logf("no cgroup v2 here (%v): testing without cgroups only", err)
	}
	return out
}

// newKeeperWith starts a keeper like newKeeper, without cgroups when cm
// says so, and returns its pid.
func newKeeperWith(t *testing.T, cm containment) (*Client, string, int) {
	t.Helper()
	dir := runDir(t)
	cfg := ensureConfig(dir)
	if cm.noCgroups {
		cfg.Args = append(cfg.Args, "--no-cgroups")
	}
	c, err := Ensure(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cleanupKeeper(t, dir)
	info, err := c.info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Cgroups == cm.noCgroups {
		t.Fatalf("keeper reports cgroups %v, want %v", info.Cgroups, !cm.noCgroups)
	}
	return c, dir, info.PID
}

// readPid waits for a file holding a pid, written by an agent.
func readPid(t *testing.T, path string) int {
	t.Helper()
	var pid int
	if !waitUntil(10*time.Second, func() bool {
		b, err := os.ReadFile(path)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	}) {
		t.Fatalf("no pid in %s", path)
	}
	return pid
}

// killAtEnd kills pid at the end of the test if it is still alive and has
// the start time it has now (the test's own escapee, not a reused pid).
func killAtEnd(t *testing.T, pid int) {
	start := startTimeOf(pid)
	t.Cleanup(func() {
		if alive(pid) && startTimeOf(pid) == start {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// TestFaultIgnoresTerm: an agent (and its children) that ignore SIGTERM
// are killed after stop_timeout; the stop returns and nothing is left.
func TestFaultIgnoresTerm(t *testing.T) {
	t.Parallel()
	for _, cm := range containments(t) {
		t.Run(cm.name, func(t *testing.T) {
			t.Parallel()
			c, dir, _ := newKeeperWith(t, cm)
			id := uniqueID(t, "noterm")
			in := agent(dir, id, "always", "sh", "-c", `trap "" TERM; sleep 1000 & while :; do sleep 1; done`)
			in.StopTimeout = time.Second
			st, err := c.Start(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			var kids []int
			if !waitUntil(10*time.Second, func() bool { kids = children(st.PID); return len(kids) == 2 }) {
				t.Fatalf("agent %d has children %v, want 2", st.PID, kids)
			}
			st, err = c.Stop(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != runtime.StateStopped || st.LastExit != "signal: killed" {
				t.Errorf("after Stop: state %s, last exit %q; want stopped, signal: killed", st.State, st.LastExit)
			}
			for _, pid := range append(kids, st.PID) {
				if alive(pid) {
					t.Errorf("pid %d alive after Stop", pid)
				}
			}
		})
	}
}

// TestFaultDoubleForkSetsid: a grandchild that double-forks and calls
// setsid (leaving the agent's process group and session, reparented to the
// keeper) dies with its instance.
func TestFaultDoubleForkSetsid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		daemon string // run in the background by a subshell that then exits
		cgOnly bool   // only a cgroup can tell this one apart
	}{
		{"keeps stdio", `setsid sh -c 'echo $$ > gc.pid; exec sleep 1000'`, false},
		{"closes stdio, parent lingers", `setsid sh -c 'echo $$ > gc.pid; exec sleep 1000 </dev/null >/dev/null 2>&1' & sleep 3`, false},
		{"closes stdio, parent exits at once", `setsid sh -c 'echo $$ > gc.pid; exec sleep 1000 </dev/null >/dev/null 2>&1'`, true},
	}
	for _, cm := range containments(t) {
		for _, tc := range tests {
			t.Run(cm.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				if tc.cgOnly && cm.noCgroups {
					t.Skip("without a cgroup nothing links this process to its instance (docs/keeper-protocol.md)")
				}
				c, dir, keeperPID := newKeeperWith(t, cm)
				id := uniqueID(t, "dfork")
				sub := tc.daemon
				if !strings.HasSuffix(sub, "sleep 3") {
					sub += " &"
				}
				in := agent(dir, id, "always", "sh", "-c", "("+sub+"); exec sleep 1000")
				in.StopTimeout = 500 * time.Millisecond
				if _, err := c.Start(t.Context(), in); err != nil {
					t.Fatal(err)
				}
				gc := readPid(t, filepath.Join(dir, "gc.pid"))
				killAtEnd(t, gc)
				var ps procStat
				if !waitUntil(15*time.Second, func() bool {
					ps, _ = readProcStat(gc)
					return ps.ppid == keeperPID && ps.pgrp == gc
				}) {
					t.Fatalf("grandchild %d: ppid %d pgrp %d, want reparented to the keeper %d in its own group", gc, ps.ppid, ps.pgrp, keeperPID)
				}
				if _, err := c.Stop(t.Context(), id); err != nil {
					t.Fatal(err)
				}
				if alive(gc) {
					t.Errorf("double-forked grandchild %d alive after Stop", gc)
				}
			})
		}
	}
}

// TestFaultSIGSTOPped: a stopped agent is still stopped cleanly: SIGCONT
// follows SIGTERM, so its handler runs and it exits on its own instead of
// waiting out stop_timeout for SIGKILL. While stopped, it stays "running"
// with its pid: the process exists; whether it answers is health's job.
func TestFaultSIGSTOPped(t *testing.T) {
	t.Parallel()
	c, dir := newKeeper(t)
	id := uniqueID(t, "sigstop")
	in := agent(dir, id, "always", "sh", "-c", `trap 'echo got-term; exit 0' TERM; echo up; while :; do sleep 0.1; done`)
	in.StopTimeout = 5 * time.Second
	st, err := c.Start(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, id, "up", func(s runtime.Status) bool { return s.LogLines == 1 })
	if err := syscall.Kill(-st.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// A stopped process stays stopped until signalled: 2 s shows the same as 15 s.
	time.Sleep(2 * time.Second)
	if ps, _ := readProcStat(st.PID); ps.state != 'T' {
		t.Fatalf("agent state %q, want T (stopped)", ps.state)
	}
	st2, err := c.Status(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st2.State != runtime.StateRunning || st2.PID != st.PID {
		t.Errorf("status of the stopped agent: %s pid %d, want running pid %d", st2.State, st2.PID, st.PID)
	}
	t0 := time.Now()
	st2, err = c.Stop(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stop of a SIGSTOPped agent took %s", time.Since(t0).Round(time.Millisecond))
	if st2.LastExit != "exit 0" {
		t.Errorf("last exit %q, want exit 0: the TERM handler did not run", st2.LastExit)
	}
	if alive(st.PID) {
		t.Errorf("pid %d alive after Stop", st.PID)
	}
	if got := readLog(t, in.LogPath); !slices.Contains(got, "out got-term") {
		t.Errorf("log %q has no got-term", got)
	}
}
