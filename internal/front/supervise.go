package front

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/process"
)

// supervisor restarts the daemon that registered with the front when it
// dies without saying goodbye (kill -9, a crash), with backoff on loops.
// A daemon under another supervisor (systemd) never registers, so the two
// never fight. Safe for concurrent use.
type supervisor struct {
	log *slog.Logger

	mu  sync.Mutex
	reg *registration // nil: nothing to restart
}

// registration is one daemon to watch and how to start it again.
type registration struct {
	spec   DaemonSpec
	files  []*os.File // the daemon's stdout and stderr
	since  time.Time  // when its process started, for the backoff
	cancel context.CancelFunc
	ctx    context.Context
}

// supervise registers spec's daemon, replacing any previous registration
// (a restarted daemon registers again). files are its stdout and stderr.
func (s *supervisor) supervise(spec *DaemonSpec, files []*os.File) error {
	if spec == nil || spec.PID <= 0 || spec.Exe == "" || len(files) != 2 {
		closeAll(files)
		return errors.New("supervise needs the daemon's pid, exe, args and its stdout and stderr")
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &registration{spec: *spec, files: files, since: time.Now(), ctx: ctx, cancel: cancel}
	s.mu.Lock()
	old := s.reg
	s.reg = r
	s.mu.Unlock()
	old.end()
	s.log.Info("supervising the daemon", "pid", spec.PID)
	return nil
}

// release forgets the daemon pid: it is exiting on purpose.
func (s *supervisor) release(pid int) {
	s.mu.Lock()
	r := s.reg
	if r == nil || r.spec.PID != pid {
		s.mu.Unlock()
		return
	}
	s.reg = nil
	s.mu.Unlock()
	r.end()
	s.log.Info("the daemon stopped on purpose; not restarting it", "pid", pid)
}

// close forgets any registration (the front is exiting).
func (s *supervisor) close() {
	s.mu.Lock()
	r := s.reg
	s.reg = nil
	s.mu.Unlock()
	r.end()
}

func (r *registration) end() {
	if r != nil {
		r.cancel()
		closeAll(r.files)
	}
}

// current returns the registration, if any.
func (s *supervisor) current() *registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reg
}

// run watches the registered daemon until ctx ends and starts it again
// when it dies while registered. A new registration or a release during
// the wait cancels that registration's context, and run looks again.
func (s *supervisor) run(ctx context.Context) {
	var b backoff
	for ctx.Err() == nil {
		r := s.current()
		if r == nil {
			if !process.Sleep(ctx, process.Tick) {
				return
			}
			continue
		}
		wctx, stop := mergeCtx(ctx, r.ctx)
		err := process.WaitExit(wctx, r.spec.PID)
		if err == nil {
			wait, loop := b.next(time.Since(r.since))
			s.log.Warn("the daemon died; starting it again", "pid", r.spec.PID, "ran", time.Since(r.since).Round(time.Millisecond), "in", wait, "crashloop", loop)
			if process.Sleep(wctx, wait) {
				s.restart(r)
			}
		}
		stop()
	}
}

// restart starts r's daemon again and watches the new process under the
// same registration until the new daemon registers itself.
func (s *supervisor) restart(r *registration) {
	pid, err := startDaemon(r.spec, r.files)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.log.Error("starting the daemon again", "err", err)
		r.since = time.Now() // counts as a short run: the backoff grows
		return
	}
	if s.reg == r {
		r.spec.PID, r.since = pid, time.Now()
	}
	s.log.Info("daemon started again", "pid", pid)
}

// startDaemon starts spec's command detached in its own session, its
// output on files; a goroutine reaps it.
func startDaemon(spec DaemonSpec, files []*os.File) (int, error) {
	cmd := exec.Command(spec.Exe, spec.Args...)
	cmd.Env, cmd.Dir = spec.Env, spec.Dir
	cmd.Stdout, cmd.Stderr = files[0], files[1]
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", spec.Exe, err)
	}
	go func() { _ = cmd.Wait() }()
	return cmd.Process.Pid, nil
}

// mergeCtx returns a context done when either a or b is.
func mergeCtx(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() { stop(); cancel() }
}
