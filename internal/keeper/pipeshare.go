package keeper

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// pipesName is the SOCK_SEQPACKET socket on which the keeper hands out
// duplicates of its agents' pipe read ends (docs/keeper-protocol.md).
const pipesName = "pipes.sock"

// pipeMsg is one message on pipes.sock. A "hold" carries the read ends of
// one run's stdout and stderr as SCM_RIGHTS, in the order of Inodes.
type pipeMsg struct {
	Op     string   `json:"op"` // hold | drop | synced
	ID     string   `json:"id,omitempty"`
	Inodes []uint64 `json:"inodes,omitempty"`
}

// Operations of pipeMsg.
const (
	pipeHold   = "hold"   // keep these read ends for the next keeper
	pipeDrop   = "drop"   // their run ended (EOF): close them
	pipeSynced = "synced" // every pipe this keeper reads was sent: drop any other
)

// pipeShare is the keeper's side of pipes.sock: the read ends of the pipes
// it reads, sent to every connected holder (the daemon) when a run starts,
// and all of them to a holder that connects. Safe for concurrent use.
type pipeShare struct {
	log *slog.Logger

	mu    sync.Mutex
	runs  map[uint64]sharedRun // keyed by the stdout inode
	conns map[*net.UnixConn]bool
}

// sharedRun is one run's pipes: raw duplicates owned by the share (not
// *os.File: Fd would switch the shared file description to blocking mode
// under the goroutine that reads it).
type sharedRun struct {
	id     string
	fds    []int
	inodes []uint64
}

// pipeWriteWait bounds one send to a holder; a holder that does not read
// is dropped rather than stalling the keeper.
const pipeWriteWait = 2 * time.Second

func newPipeShare(log *slog.Logger) *pipeShare {
	return &pipeShare{log: log, runs: map[uint64]sharedRun{}, conns: map[*net.UnixConn]bool{}}
}

// hold duplicates pipes (stdout and stderr read ends of one run of id) and
// sends them to every holder. It returns the key to release them with.
func (s *pipeShare) hold(id string, pipes ...*os.File) uint64 {
	r := sharedRun{id: id}
	for _, p := range pipes {
		fd, err := dupFile(p)
		if err != nil {
			s.log.Warn("duplicating an output pipe for the daemon", "id", id, "err", err)
			continue
		}
		r.fds = append(r.fds, fd)
		r.inodes = append(r.inodes, pipeInode(p))
	}
	if len(r.fds) == 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs[r.inodes[0]] = r
	for c := range s.conns {
		s.sendLocked(c, r)
	}
	return r.inodes[0]
}

// release forgets the run of key once its output reached EOF.
func (s *pipeShare) release(key uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[key]
	if !ok {
		return
	}
	delete(s.runs, key)
	for _, fd := range r.fds {
		unix.Close(fd)
	}
	b, _ := json.Marshal(pipeMsg{Op: pipeDrop, ID: r.id, Inodes: r.inodes})
	for c := range s.conns {
		s.writeLocked(c, b, nil)
	}
}

func (s *pipeShare) sendLocked(c *net.UnixConn, r sharedRun) {
	b, _ := json.Marshal(pipeMsg{Op: pipeHold, ID: r.id, Inodes: r.inodes})
	s.writeLocked(c, b, unix.UnixRights(r.fds...))
}

func (s *pipeShare) writeLocked(c *net.UnixConn, b, oob []byte) {
	c.SetWriteDeadline(time.Now().Add(pipeWriteWait))
	if _, _, err := c.WriteMsgUnix(b, oob, nil); err != nil {
		s.log.Warn("handing pipes to the daemon; dropping that connection", "err", err)
		delete(s.conns, c)
		c.Close()
	}
}

// serve accepts holders on l until ctx ends. A new holder gets every pipe
// held, then "synced".
func (s *pipeShare) serve(ctx context.Context, l *net.UnixListener) {
	context.AfterFunc(ctx, func() { l.Close() })
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("accepting on pipes.sock", "err", err)
			}
			s.mu.Lock()
			for c := range s.conns {
				c.Close()
			}
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		for _, r := range s.runs {
			s.sendLocked(c, r)
		}
		b, _ := json.Marshal(pipeMsg{Op: pipeSynced})
		s.writeLocked(c, b, nil)
		s.mu.Unlock()
		go s.watchConn(c)
	}
}

// watchConn forgets c once the holder hangs up (it never sends).
func (s *pipeShare) watchConn(c *net.UnixConn) {
	buf := make([]byte, 64)
	for {
		if _, err := c.Read(buf); err != nil {
			break
		}
	}
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// listenPipes binds pipes.sock like keeper.sock: mode 0600 before its name
// appears.
func listenPipes(path string) (*net.UnixListener, error) {
	tmp := path + ".tmp-" + strconv.Itoa(os.Getpid())
	os.Remove(tmp)
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: tmp, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", tmp, err)
	}
	l.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("setting socket mode: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		l.Close()
		return nil, fmt.Errorf("placing socket: %w", err)
	}
	return l, nil
}

// pipeInode returns the inode number of a pipe, which names it across
// processes; 0 when it cannot be read. It does not call f.Fd, which would
// put a file its copy goroutine reads into blocking mode.
func pipeInode(f *os.File) uint64 {
	var st unix.Stat_t
	ok := false
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { ok = unix.Fstat(int(fd), &st) == nil })
	}
	if !ok {
		return 0
	}
	return st.Ino
}

// dupFile duplicates f's descriptor (close-on-exec) without f.Fd.
func dupFile(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("duplicating pipe: %w", err)
	}
	nfd, derr := -1, error(nil)
	if err := rc.Control(func(fd uintptr) { nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 3) }); err != nil {
		return -1, fmt.Errorf("duplicating pipe: %w", err)
	}
	if derr != nil {
		return -1, fmt.Errorf("duplicating pipe: %w", derr)
	}
	return nfd, nil
}
