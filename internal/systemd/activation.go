package systemd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// listenFDsStart is the first file descriptor systemd passes (SD_LISTEN_FDS_START).
const listenFDsStart = 3

// Socket activation variables (sd_listen_fds(3)).
const (
	envListenPID     = "LISTEN_PID"
	envListenFDs     = "LISTEN_FDS"
	envListenFDNames = "LISTEN_FDNAMES"
)

// ErrSocketMismatch is returned when systemd passed a socket under an app's
// name that listens somewhere else than the app's [service] listen.
var ErrSocketMismatch = errors.New("the socket systemd passed listens elsewhere")

// Sockets are the listening sockets systemd passed to this process (socket
// activation). They stay open for the life of the process: systemd keeps its
// own copy too, so a restart of the daemon refuses no connection. Sockets is
// safe for concurrent use; the zero value (or nil) holds none.
type Sockets struct {
	mu    sync.Mutex
	files []passed
}

// passed is one socket systemd passed.
type passed struct {
	name string   // FileDescriptorName=, or the socket unit's name
	file *os.File // never closed: handed out as duplicates
	addr net.Addr // nil for a socket that is not a stream listener
}

// TakeSockets adopts the sockets systemd passed (LISTEN_PID, LISTEN_FDS,
// LISTEN_FDNAMES), marks them close-on-exec and unsets the variables, so
// that no child (the keeper, systemctl) inherits them. With no variables,
// or variables meant for another process, it returns an empty set. Call it
// once, early, before starting any child.
func TakeSockets() (*Sockets, error) {
	pid, n, names := os.Getenv(envListenPID), os.Getenv(envListenFDs), os.Getenv(envListenFDNames)
	for _, k := range []string{envListenPID, envListenFDs, envListenFDNames} {
		_ = os.Unsetenv(k)
	}
	count, fdNames, err := parseListenEnv(pid, n, names, os.Getpid())
	if err != nil || count == 0 {
		return &Sockets{}, err
	}
	s := &Sockets{}
	for i := range count {
		fd := listenFDsStart + i
		syscall.CloseOnExec(fd)
		// Non-blocking before os.NewFile, so the file's Fd (which
		// net.FileListener calls) never switches the socket to blocking:
		// berth front may be accepting on it while this daemon starts, and
		// an accept caught in blocking mode hangs its event loop.
		_ = syscall.SetNonblock(fd, true)
		f := os.NewFile(uintptr(fd), fdNames[i])
		p := passed{name: fdNames[i], file: f}
		if l, err := net.FileListener(f); err == nil {
			p.addr = l.Addr()
			_ = l.Close() // a duplicate: f stays open
		}
		s.files = append(s.files, p)
	}
	return s, nil
}

// parseListenEnv checks the variables against pid and returns how many
// sockets were passed and their names ("" where systemd gave none).
func parseListenEnv(pid, n, names string, self int) (int, []string, error) {
	if n == "" {
		return 0, nil, nil
	}
	if p, err := strconv.Atoi(pid); err != nil || p != self {
		return 0, nil, nil // meant for another process (or a shell that forwarded it)
	}
	count, err := strconv.Atoi(n)
	if err != nil || count < 0 || count > 1024 {
		return 0, nil, fmt.Errorf("reading socket activation: LISTEN_FDS=%q is not a count of sockets", n)
	}
	out := make([]string, count)
	if names != "" {
		parts := strings.Split(names, ":")
		if len(parts) != count {
			return 0, nil, fmt.Errorf("reading socket activation: LISTEN_FDNAMES has %d names for %d sockets", len(parts), count)
		}
		copy(out, parts)
	}
	return count, out, nil
}

// Len is the number of sockets systemd passed.
func (s *Sockets) Len() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.files)
}

// Listener returns a new listener on the socket systemd passed for app: the
// one named app (FileDescriptorName=) or else an unnamed one (a socket unit
// without FileDescriptorName=) listening on addr; a socket named for
// another app is never taken. It returns nil, nil when there is none, and
// ErrSocketMismatch when the socket named app listens on another address
// (the unit is older than the spec). Each call returns its own duplicate,
// which the caller closes; the socket stays open in this process and in
// systemd.
func (s *Sockets) Listener(app, addr string) (net.Listener, error) {
	if s == nil {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	found, err := s.find(app, addr)
	if found == nil || err != nil {
		return nil, err
	}
	l, err := net.FileListener(found.file)
	if err != nil {
		return nil, fmt.Errorf("adopting socket %q: %w", found.name, err)
	}
	return l, nil
}

func (s *Sockets) find(app, addr string) (*passed, error) {
	for i := range s.files {
		if f := &s.files[i]; f.name == app && f.addr != nil {
			if !sameAddr(addr, f.addr) {
				return nil, fmt.Errorf("%w: socket %q is on %s, [service] listen of %s is %s; run berth provision again",
					ErrSocketMismatch, f.name, f.addr, app, addr)
			}
			return f, nil
		}
	}
	for i := range s.files {
		f := &s.files[i]
		unnamed := f.name == "" || strings.HasSuffix(f.name, ".socket") // systemd names it after the unit
		if unnamed && f.addr != nil && sameAddr(addr, f.addr) {
			return f, nil
		}
	}
	return nil, nil
}

// sameAddr reports whether a listener on got serves the host:port want.
// Host names never match: only addresses are compared, and any
// unspecified address (":8080", "0.0.0.0", "[::]") matches any other.
func sameAddr(want string, got net.Addr) bool {
	tcp, ok := got.(*net.TCPAddr)
	if !ok {
		return false
	}
	host, port, err := net.SplitHostPort(want)
	if err != nil || port != strconv.Itoa(tcp.Port) {
		return false
	}
	if host == "" {
		return tcp.IP == nil || tcp.IP.IsUnspecified()
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsUnspecified() {
		return tcp.IP == nil || tcp.IP.IsUnspecified()
	}
	return ip.Equal(tcp.IP)
}
