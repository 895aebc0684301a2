package provision

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWaitNoProcesses: the user step refuses while a process runs as the
// user, naming it, and goes on once it has exited.
func TestWaitNoProcesses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a process as another uid")
	}
	const uid = 54329 // no account; nothing else runs as it
	if pids := processesOf(strconv.Itoa(uid)); len(pids) != 0 {
		t.Skipf("uid %d is in use here: %v", uid, pids)
	}
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	err := waitNoProcesses(context.Background(), strconv.Itoa(uid), 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), strconv.Itoa(cmd.Process.Pid)) {
		t.Fatalf("with pid %d running as uid %d: err = %v, want one naming the pid", cmd.Process.Pid, uid, err)
	}
	go func() { time.Sleep(200 * time.Millisecond); _ = cmd.Process.Kill() }()
	if err := waitNoProcesses(context.Background(), strconv.Itoa(uid), 10*time.Second); err != nil {
		t.Fatalf("after the process was killed: %v", err)
	}
}
