package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDemoLeavesNothingRunning runs the README's main job, `berth demo`,
// and checks that it ends with a zero-downtime deploy in its summary and
// that no process of its temporary home (daemon, keeper, front, agents)
// is left behind. The front once outlived it.
func TestDemoLeavesNothingRunning(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, berthBin, "demo").CombinedOutput()
	if err != nil {
		t.Fatalf("berth demo: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("bluegreen  succeeded")) {
		t.Errorf("the demo's summary has no succeeded blue-green deploy:\n%s", out)
	}
	var left []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte("/berth-demo-")) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if pid == os.Getpid() {
			continue
		}
		left = append(left, strings.ReplaceAll(string(bytes.TrimRight(b, "\x00")), "\x00", " "))
	}
	if len(left) > 0 {
		t.Errorf("processes of the demo's home left running:\n%s", strings.Join(left, "\n"))
	}
}
