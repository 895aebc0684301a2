package container

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/runtime"
)

// Backoff of berth's restarts: 1 s doubling to 32 s; crashloop once an
// instance restarted crashloopAfter times within crashloopWindow.
const (
	backoffMin      = time.Second
	backoffMax      = 32 * time.Second
	crashloopAfter  = 5
	crashloopWindow = time.Minute
)

// supervised is one instance berth watches: its container, its restart
// state and its log writer.
type supervised struct {
	inst runtime.Instance
	cid  string

	mu         sync.Mutex
	state      runtime.State
	stopping   bool
	restarts   int
	recent     []time.Time // restarts within crashloopWindow
	lastExit   string
	lastExitAt time.Time
	nextStart  time.Time
	adopted    bool
	wake       chan struct{} // closed by Stop to end a backoff wait
	done       chan struct{} // closed when the waiter ends
	w          *logs.Writer
	cancelLog  context.CancelFunc
	logDone    chan struct{}
}

func (s *supervised) closeLog() {
	s.mu.Lock()
	w := s.w
	s.w = nil
	s.mu.Unlock()
	if w != nil {
		w.Close()
	}
}

// watch waits for the container to exit and starts it again as the
// instance's restart policy says, until Stop or Close.
func (r *Runtime) watch(s *supervised) {
	defer close(s.done)
	for {
		code, err := r.wait(s.cid)
		if r.ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		if s.stopping {
			s.state = runtime.StateStopped
			s.mu.Unlock()
			return
		}
		s.lastExit, s.lastExitAt = exitText(code, err), time.Now()
		delay, again := s.plan(code)
		wake := s.wake
		s.mu.Unlock()
		if !again {
			return
		}
		select {
		case <-time.After(delay):
		case <-wake:
		case <-r.ctx.Done():
			return
		}
		if !r.restart(s) {
			return
		}
	}
}

// wait blocks until the container is not running; code is its exit code.
func (r *Runtime) wait(cid string) (int64, error) {
	code, msg, err := r.cli.Wait(r.ctx, cid)
	if err != nil {
		return -1, err
	}
	if msg != "" {
		return code, fmt.Errorf("%s", msg)
	}
	return code, nil
}

// plan decides, under s.mu, whether and when to restart after an exit.
func (s *supervised) plan(code int64) (time.Duration, bool) {
	switch {
	case s.inst.Restart == "never", s.inst.Restart == "on-failure" && code == 0:
		s.state = runtime.StateExited
		return 0, false
	}
	now := time.Now()
	kept := s.recent[:0]
	for _, t := range s.recent {
		if now.Sub(t) < crashloopWindow {
			kept = append(kept, t)
		}
	}
	s.recent = kept
	delay := backoffMin << min(len(s.recent), 5)
	delay = min(delay, backoffMax)
	s.state = runtime.StateBackoff
	if len(s.recent) >= crashloopAfter {
		s.state = runtime.StateCrashloop
	}
	s.nextStart = now.Add(delay)
	return delay, true
}

// restart starts the container again; false when it must not (stopped in
// the meantime) or cannot (removed).
func (r *Runtime) restart(s *supervised) bool {
	s.mu.Lock()
	if s.stopping {
		s.state = runtime.StateStopped
		s.mu.Unlock()
		return false
	}
	s.mu.Unlock()
	err := r.cli.Start(r.ctx, s.cid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		r.log.Warn("restarting container", "instance", s.inst.ID, "err", err)
		s.lastExit = "restart failed: " + err.Error()
		return r.ctx.Err() == nil && s.inst.Restart != "never"
	}
	s.restarts++
	s.recent = append(s.recent, time.Now())
	s.state, s.nextStart = runtime.StateRunning, time.Time{}
	return true
}

func exitText(code int64, err error) string {
	switch {
	case err != nil:
		return "wait failed: " + err.Error()
	case code == 137:
		return "exit 137 (killed)"
	}
	return fmt.Sprintf("exit %d", code)
}
