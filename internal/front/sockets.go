package front

import (
	"fmt"
	"net"
	"os"
	"sort"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// dupFile returns a new descriptor of the socket behind rc as a file of
// its own (close-on-exec). It never calls Fd, which would switch the open
// file description, shared with every process serving the socket, to
// blocking mode; a file made by os.NewFile from a non-blocking descriptor
// stays non-blocking.
func dupFile(rc syscall.RawConn, name string) (*os.File, error) {
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, fmt.Errorf("reaching socket: %w", err)
	}
	if derr != nil {
		return nil, fmt.Errorf("duplicating socket: %w", derr)
	}
	return os.NewFile(uintptr(nfd), name), nil
}

// ListenerFile returns a duplicate of l's socket as a file the caller
// owns; l stays open and serving.
func ListenerFile(l net.Listener) (*os.File, error) {
	sc, ok := l.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("listener %s has no socket", l.Addr())
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("reaching the socket of %s: %w", l.Addr(), err)
	}
	return dupFile(rc, "listener")
}

// dupOf returns a duplicate of the socket f holds.
func dupOf(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("reaching socket: %w", err)
	}
	return dupFile(rc, f.Name())
}

// Held is the daemon's duplicate of every route's listening socket, by
// app. While it holds them, a front's death closes no socket: the kernel
// queues new connections until the next front accepts them, and the
// daemon hands that front the same sockets. Safe for concurrent use.
type Held struct {
	mu sync.Mutex
	m  map[string]*os.File
}

// NewHeld returns an empty set.
func NewHeld() *Held { return &Held{m: map[string]*os.File{}} }

// Replace makes socks the held set, closing the files it no longer holds.
// Held owns socks from here on.
func (h *Held) Replace(socks map[string]*os.File) {
	h.mu.Lock()
	old := h.m
	h.m = socks
	h.mu.Unlock()
	for app, f := range old {
		if socks[app] != f {
			f.Close()
		}
	}
}

// Drop closes app's socket.
func (h *Held) Drop(app string) {
	h.mu.Lock()
	f := h.m[app]
	delete(h.m, app)
	h.mu.Unlock()
	if f != nil {
		f.Close()
	}
}

// Len returns how many sockets are held.
func (h *Held) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.m)
}

// dups returns the apps, sorted, and a fresh duplicate of each one's
// socket, for a new front; the caller closes the files.
func (h *Held) dups() ([]string, []*os.File, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	apps := make([]string, 0, len(h.m))
	for app := range h.m {
		apps = append(apps, app)
	}
	sort.Strings(apps)
	files := make([]*os.File, 0, len(apps))
	for _, app := range apps {
		f, err := dupOf(h.m[app])
		if err != nil {
			closeAll(files)
			return nil, nil, fmt.Errorf("duplicating the socket of %s: %w", app, err)
		}
		files = append(files, f)
	}
	return apps, files, nil
}

// Close closes every held socket.
func (h *Held) Close() { h.Replace(map[string]*os.File{}) }
