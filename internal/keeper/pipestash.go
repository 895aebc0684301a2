package keeper

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/process"
)

// PipeStash runs in the daemon and holds a duplicate of the read end of
// every agent pipe the keeper reads, received over SCM_RIGHTS on the
// keeper's pipes.sock. While it holds them, a keeper's death does not close
// the pipes: what the agents write stays in the pipe buffers, and Ensure
// hands every held read end to the next keeper, which reads on where the
// dead one stopped. The stash never reads a pipe. Safe for concurrent use.
type PipeStash struct {
	mu    sync.Mutex
	files map[uint64]*os.File // by pipe inode
}

// NewPipeStash returns an empty stash.
func NewPipeStash() *PipeStash {
	return &PipeStash{files: map[uint64]*os.File{}}
}

// stashRedial is how soon the stash dials a keeper again after losing it.
const stashRedial = 50 * time.Millisecond

// Run keeps a connection to the keeper of runDir and takes the pipes it
// hands out, until ctx ends. It redials at once when a keeper goes away.
func (s *PipeStash) Run(ctx context.Context, runDir string) {
	addr := &net.UnixAddr{Name: filepath.Join(runDir, pipesName), Net: "unixpacket"}
	for ctx.Err() == nil {
		c, err := net.DialUnix("unixpacket", nil, addr)
		if err != nil {
			if !process.Sleep(ctx, stashRedial) {
				return
			}
			continue
		}
		stop := context.AfterFunc(ctx, func() { c.Close() })
		s.receive(c)
		stop()
		c.Close()
	}
}

// receive reads messages from one keeper until it hangs up.
func (s *PipeStash) receive(c *net.UnixConn) {
	buf := make([]byte, 4<<10)
	oob := make([]byte, unix.CmsgSpace(8*4))
	seen := map[uint64]bool{} // what this keeper sent, for "synced"
	for {
		n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		if err != nil || n == 0 {
			return
		}
		fds := parseRights(oob[:oobn])
		var m pipeMsg
		if json.Unmarshal(buf[:n], &m) != nil {
			closeFDs(fds)
			continue
		}
		switch m.Op {
		case pipeHold:
			s.put(m.Inodes, fds)
			for _, ino := range m.Inodes {
				seen[ino] = true
			}
		case pipeDrop:
			closeFDs(fds)
			s.drop(func(ino uint64) bool { return contains(m.Inodes, ino) })
		case pipeSynced:
			closeFDs(fds)
			s.drop(func(ino uint64) bool { return !seen[ino] })
		default:
			closeFDs(fds)
		}
	}
}

func (s *PipeStash) put(inodes []uint64, fds []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, fd := range fds {
		if i >= len(inodes) || s.files[inodes[i]] != nil {
			unix.Close(fd) // held already (a new keeper re-sends what it adopted)
			continue
		}
		s.files[inodes[i]] = os.NewFile(uintptr(fd), "agent-pipe")
	}
}

func (s *PipeStash) drop(match func(uint64) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ino, f := range s.files {
		if match(ino) {
			f.Close()
			delete(s.files, ino)
		}
	}
}

// Files returns the held read ends, for the next keeper's ExtraFiles. The
// stash keeps them open: the new keeper gets duplicates.
func (s *PipeStash) Files() []*os.File {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*os.File, 0, len(s.files))
	for _, f := range s.files {
		out = append(out, f)
	}
	return out
}

// Len returns how many read ends the stash holds; 0 for a nil stash.
func (s *PipeStash) Len() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.files)
}

// parseRights returns the descriptors passed in oob.
func parseRights(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		if r, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, r...)
		}
	}
	return fds
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

func contains(s []uint64, v uint64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
