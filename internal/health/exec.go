package health

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/spec"
)

const (
	// tailSize is how much of an exec check's output is kept for the error.
	tailSize = 1 << 10
	// pipeGrace bounds the wait for output pipes held open by a process that
	// left the check's process group.
	pipeGrace = time.Second
)

type execProbe struct {
	check  spec.Check
	target Target
}

func (p *execProbe) Probe(ctx context.Context) Result {
	return run(ctx, p.check, p.do)
}

// do runs the command in its own process group. Whether it exits or times
// out, the whole group is killed before the leader is reaped: the zombie
// leader pins the group id, so the kill cannot hit a recycled one, and no
// helper a check started outlives it.
func (p *execProbe) do(ctx context.Context) error {
	argv := p.check.Command
	if len(argv) == 0 {
		return errors.New("exec check has no command")
	}
	if p.target.Exec != nil {
		return p.target.Exec(ctx, argv)
	}
	out := &tail{max: tailSize}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = p.target.Dir
	cmd.Env = p.target.Env
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: p.target.Cred}
	cmd.WaitDelay = pipeGrace
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", argv[0], err)
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		waitNoReap(pid)
	}()
	timedOut := false
	select {
	case <-exited:
	case <-ctx.Done():
		timedOut = true
	}
	_ = unix.Kill(-pid, unix.SIGKILL) // ESRCH when the group is already gone
	<-exited
	err := cmd.Wait()
	switch {
	case timedOut:
		return fmt.Errorf("%s: timed out after %s%s", argv[0], p.check.Timeout.Duration, out.suffix())
	case err != nil:
		return fmt.Errorf("%s: %w%s", argv[0], err, out.suffix())
	}
	return nil
}

// waitNoReap blocks until pid has exited, leaving it a zombie for Wait.
func waitNoReap(pid int) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// tail keeps the last max bytes written to it. It is safe for concurrent
// use because stdout and stderr are copied by separate goroutines.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// suffix formats the kept output for an error message.
func (t *tail) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if s == "" {
		return ""
	}
	return ": " + s
}
