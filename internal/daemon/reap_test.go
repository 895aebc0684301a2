package daemon

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// TestReapInherited stands in for the old image's child after a re-exec:
// a started process nobody Waits for. inheritedChildren lists it, and
// reapInherited reaps it once it exits, so no zombie is left.
func TestReapInherited(t *testing.T) {
	cmd := exec.Command("sleep", "0.2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if kids := inheritedChildren(); !slices.Contains(kids, pid) {
		t.Fatalf("inheritedChildren() = %v; want it to list %d", kids, pid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reapInherited(ctx, []int{pid}, 20*time.Millisecond)
	if ctx.Err() != nil {
		t.Fatalf("reapInherited did not return within 10s of a 0.2s child")
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Errorf("pid %d is still in /proc after reapInherited (a zombie)", pid)
	}
}
