package keeper

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// inheritEnv names the environment variable through which Ensure tells a
// new keeper how many pipe read ends it passed, as descriptors 3, 4, ...
const inheritEnv = "BERTH_KEEPER_PIPES"

// inherited is the pipe read ends a new keeper got from the daemon, by
// inode. Recovery takes the ones it recognizes; the rest are closed. Safe
// for concurrent use.
type inherited struct {
	mu    sync.Mutex
	files map[uint64]*os.File
}

// takeInherited reads inheritEnv and wraps descriptors 3..3+N-1, which must
// be pipes. They are made close-on-exec (agents must not get them) and
// non-blocking, so reading them goes through Go's poller.
func takeInherited(log *slog.Logger) *inherited {
	in := &inherited{files: map[uint64]*os.File{}}
	v := os.Getenv(inheritEnv)
	os.Unsetenv(inheritEnv)
	n, err := strconv.Atoi(v)
	if v == "" || err != nil || n <= 0 {
		return in
	}
	for fd := 3; fd < 3+n; fd++ {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			log.Warn("ignoring an inherited descriptor that is not a pipe", "fd", fd, "err", err)
			continue
		}
		unix.CloseOnExec(fd)
		unix.SetNonblock(fd, true)
		in.files[st.Ino] = os.NewFile(uintptr(fd), "agent-pipe-"+strconv.FormatUint(st.Ino, 10))
	}
	log.Info("inherited agent pipes from the daemon", "pipes", len(in.files))
	return in
}

// take removes and returns the pipes of inodes; ok only when every one of
// them was inherited (a run's stdout and stderr come together).
func (in *inherited) take(inodes []uint64) ([]*os.File, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(inodes) == 0 {
		return nil, false
	}
	var out []*os.File
	for _, ino := range inodes {
		if f := in.files[ino]; f != nil {
			out = append(out, f)
			delete(in.files, ino)
		}
	}
	return out, len(out) == len(inodes)
}

// closeRest closes the pipes recovery did not take.
func (in *inherited) closeRest() {
	in.mu.Lock()
	defer in.mu.Unlock()
	for ino, f := range in.files {
		f.Close()
		delete(in.files, ino)
	}
}

// pipeFill reports how many bytes wait in a pipe (FIONREAD, which is
// TIOCINQ on Linux) and its capacity.
func pipeFill(f *os.File) (waiting, capacity int, err error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, 0, fmt.Errorf("reading pipe fill: %w", err)
	}
	var werr, cerr error
	rc.Control(func(fd uintptr) {
		waiting, werr = unix.IoctlGetInt(int(fd), unix.TIOCINQ)
		capacity, cerr = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0)
	})
	if werr != nil {
		return 0, 0, fmt.Errorf("reading pipe fill: %w", werr)
	}
	if cerr != nil {
		return 0, 0, fmt.Errorf("reading pipe size: %w", cerr)
	}
	return waiting, capacity, nil
}

// growPipe raises a pipe's buffer towards /proc/sys/fs/pipe-max-size, capped
// at maxPipeBuffer, so more output survives a keeper's absence. Best effort.
func growPipe(f *os.File) {
	size := maxPipeBuffer
	if b, err := os.ReadFile("/proc/sys/fs/pipe-max-size"); err == nil {
		if n, err := strconv.Atoi(string(trimNL(b))); err == nil && n < size {
			size = n
		}
	}
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.FcntlInt(fd, unix.F_SETPIPE_SZ, size) })
	}
}

// maxPipeBuffer is the pipe buffer berth asks for: 1 MiB, the kernel's
// default pipe-max-size, per stream.
const maxPipeBuffer = 1 << 20

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
