package keeper

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCgroupCatchesEscapees: a process that leaves the agent's process
// group with setsid is still stopped, through the instance's cgroup.
func TestCgroupCatchesEscapees(t *testing.T) {
	t.Parallel()
	c, dir := newKeeper(t)
	info, err := c.info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !info.Cgroups {
		t.Skip("no writable cgroup v2 here; the keeper relies on process groups (see keeper.log)")
	}
	id := uniqueID(t, "cg")
	in := agent(dir, id, "always", "sh", "-c", "setsid sleep 1000 & wait")
	in.StopTimeout = 200 * time.Millisecond
	st, err := c.Start(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	var kids []int
	if !waitUntil(10*time.Second, func() bool { kids = children(st.PID); return len(kids) == 1 }) {
		t.Fatalf("agent %d has children %v, want 1", st.PID, kids)
	}
	esc := kids[0]
	t.Cleanup(func() {
		if alive(esc) {
			syscall.Kill(esc, syscall.SIGKILL)
		}
	})
	var ps procStat
	if !waitUntil(10*time.Second, func() bool { ps, _ = readProcStat(esc); return ps.pgrp == esc }) {
		t.Fatalf("child %d did not leave the group (pgrp %d)", esc, ps.pgrp)
	}
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(esc) + "/cgroup")
	if !strings.Contains(string(b), "/berth/"+id+"\n") {
		t.Errorf("child %d is not in the instance cgroup:\n%s", esc, b)
	}
	if _, err := c.Stop(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if alive(esc) {
		t.Errorf("escaped pid %d alive after Stop", esc)
	}
}
