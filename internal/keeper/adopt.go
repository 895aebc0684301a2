package keeper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/process"
	"github.com/berth-dev/berth/internal/runtime"
)

// openLeader returns a pidfd of rec's main process when it is still the
// process the dead keeper started: alive, not a zombie, same start time.
// The start time is checked again after pidfd_open, so a pid reused
// between the two reads is never taken for ours.
func openLeader(rec stateRecord) (int, bool) {
	if rec.PID <= 0 || rec.StartTime == 0 {
		return -1, false
	}
	if st, err := readProcStat(rec.PID); err != nil || st.startTime != rec.StartTime || st.state == 'Z' {
		return -1, false
	}
	fd, err := unix.PidfdOpen(rec.PID, 0)
	if err != nil {
		return -1, false
	}
	if st, err := readProcStat(rec.PID); err != nil || st.startTime != rec.StartTime {
		unix.Close(fd)
		return -1, false
	}
	return fd, true
}

// adopt makes the running process of rec the instance's current run again:
// the keeper watches it through pidfd (it is not the keeper's child, so its
// exit status cannot be known) and, when pipes were inherited, reads its
// output on from where the dead keeper stopped. It returns the message for
// the recovered event.
func (k *keeper) adopt(in *instance, rec stateRecord, pidfd int, pipes []*os.File) string {
	in.mu.Lock()
	spec := in.spec
	in.mu.Unlock()
	msg := fmt.Sprintf("keeper restarted: re-adopted pid %d", rec.PID)
	var w *logs.Writer
	if len(pipes) == 2 {
		msg += "; output resumed from its pipes" + describeFill(pipes)
		var err error
		if w, err = logs.Open(spec.LogPath, spec.Log); err != nil {
			msg += fmt.Sprintf("; its log cannot be opened (%v): output is read and counted as dropped", err)
		}
	} else {
		msg += "; its output pipes were lost (no daemon held them when the keeper died): its output since then is lost and cannot be counted; deploy the app again to capture it"
		for _, p := range pipes {
			p.Close()
		}
		pipes = nil
	}
	exit := make(chan exitInfo, 1)
	go watchPidfd(k.ctx, pidfd, exit)

	stopReq, done := make(chan struct{}), make(chan struct{})
	in.mu.Lock()
	in.pid, in.startTime, in.cgroup, in.startedAt = rec.PID, rec.StartTime, rec.Cgroup, rec.StartedAt
	if rec.Cgroup == "" {
		in.lin = newLineage(pipes...)
		in.lin.adopted = true
	}
	in.exitCh, in.state, in.adopted, in.outputLost = exit, runtime.StateRunning, true, pipes == nil
	in.stopReq, in.done = stopReq, done
	in.mu.Unlock()
	if pipes != nil {
		// The values are read again: one changed since the agent started is
		// redacted by its new value (the agent holds the old one).
		_, red, err := withSecrets(spec)
		if err != nil {
			k.log.Warn("reading the secrets of an adopted instance; its output is not redacted", "id", spec.ID, "err", err)
		}
		in.copyOutput(spec.ID, w, red, pipes[0], pipes[1])
	}
	go in.supervise(stopReq, done, nil)
	return msg
}

// describeFill says how much output waited in the pipes, and whether one
// was full (then the agent was blocked writing while no keeper read).
func describeFill(pipes []*os.File) string {
	waiting, full := 0, false
	for _, p := range pipes {
		n, c, err := pipeFill(p)
		if err != nil {
			continue
		}
		waiting += n
		full = full || pipeFull(n, c)
	}
	s := fmt.Sprintf(" (%d bytes were waiting in them)", waiting)
	if full {
		s += "; a pipe was full: the agent was blocked writing until now, no line was lost"
	}
	return s
}

// pipeFull reports whether a pipe holding n bytes of capacity c takes no
// more: a write needs a free page unless it fits the last one, so a pipe
// within a page (PIPE_BUF) of its capacity blocks its writers.
func pipeFull(n, c int) bool {
	return c > 0 && c-n < 4096
}

// watchPidfd sends one exitInfo on ch when the process of pidfd exits, and
// closes pidfd. The status is unknown: only a parent can wait(2) for it.
// Nothing is sent when ctx ends first (the keeper shuts down).
func watchPidfd(ctx context.Context, pidfd int, ch chan<- exitInfo) {
	defer unix.Close(pidfd)
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for ctx.Err() == nil {
		n, err := unix.Poll(fds, int(process.Tick/time.Millisecond))
		if err != nil && !errors.Is(err, unix.EINTR) {
			break // cannot happen with a valid pidfd; treat as gone
		}
		if n > 0 {
			break
		}
	}
	if ctx.Err() != nil {
		return
	}
	ch <- exitInfo{unknown: true, at: time.Now()}
}
