package front

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// File names in the front's run directory.
const (
	sockName  = "front.sock"
	pidName   = "front.pid"
	lockName  = "front.lock"
	tableName = "routes.json"
)

// ListenersEnv names the environment variable with which a front is told
// which app each inherited socket (descriptors 3, 4, ...) belongs to: a
// comma-separated list of app names in descriptor order.
const ListenersEnv = "BERTH_FRONT_LISTENERS"

// Config configures Serve.
type Config struct {
	RunDir  string       // holds front.sock, front.pid, front.lock, routes.json
	Version string       // berth's version, reported by info
	Build   string       // its build (toolchain, platform, revision), reported by info
	Logger  *slog.Logger // nil discards
	// Inherited maps apps to listening sockets the process was started
	// with; they are served instead of binding the persisted addresses.
	// The front door's are named "front:http" and "front:https".
	Inherited map[string]*os.File
	// Door tunes the front door's certificate manager (tests).
	Door DoorTuning
	// Next starts the front that replaces the running one (berth
	// upgrade): it serves the routes at once but answers on next.sock and
	// takes front.lock only when promoted (upgrade.go).
	Next bool
}

// InheritedFromEnv returns the sockets named by ListenersEnv.
func InheritedFromEnv() map[string]*os.File {
	v := os.Getenv(ListenersEnv)
	os.Unsetenv(ListenersEnv)
	if v == "" {
		return nil
	}
	out := map[string]*os.File{}
	for i, app := range strings.Split(v, ",") {
		fd := 3 + i
		unix.CloseOnExec(fd)
		out[app] = os.NewFile(uintptr(fd), "listener-"+app)
	}
	return out
}

// Serve is the front process's main loop: it takes RunDir/front.lock
// (ErrRunning when another front holds it), serves the routes of
// routes.json at once, writes front.pid and answers the control protocol
// on RunDir/front.sock (mode 0600) until ctx is done. Then it stops its
// proxies but keeps routes.json: the next front serves the same routes.
func Serve(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.RunDir, 0o700); err != nil {
		return fmt.Errorf("creating run directory: %w", err)
	}
	ctx, quit := context.WithCancel(ctx)
	defer quit()
	s := &server{sup: &supervisor{log: log}, log: log, runDir: cfg.RunDir, quit: quit}
	defer s.sup.close()
	if !cfg.Next {
		lock, err := lockFile(filepath.Join(cfg.RunDir, lockName))
		if err != nil {
			return err
		}
		s.lock = lock
	}
	defer s.unlock()
	s.rs = &routes{log: log, path: filepath.Join(cfg.RunDir, tableName), m: map[string]*route{}, door: newDoor(log, cfg.Door)}
	defer s.rs.closeAllRoutes()
	defer s.rs.door.close()
	start := time.Now()
	if err := s.rs.restore(cfg.Inherited); err != nil {
		log.Error("restoring routes", "err", err)
	}
	ctl := sockName
	if cfg.Next {
		ctl = nextSockName
	}
	l, err := listenControl(filepath.Join(cfg.RunDir, ctl))
	if err != nil {
		return err
	}
	s.ctl = l
	if cfg.Next {
		l.SetUnlinkOnClose(false) // promote renames it to front.sock
	} else if err := s.writePID(); err != nil {
		l.Close()
		return err
	}
	log.Info("berth front ready", "routes", len(s.rs.m), "restore", time.Since(start).Round(time.Millisecond), "next", cfg.Next)
	s.info = Info{PID: os.Getpid(), Version: cfg.Version, Build: cfg.Build, StartedAt: start}
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	defer s.wg.Wait()
	s.wg.Go(func() { s.sup.run(ctx) })
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil || s.retired.Load() {
				return nil
			}
			return fmt.Errorf("accepting control connection: %w", err)
		}
		s.wg.Go(func() { s.serveConn(c) })
	}
}

// writePID writes front.pid: this front serves the home.
func (s *server) writePID() error {
	if err := os.WriteFile(filepath.Join(s.runDir, pidName), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing pid file: %w", err)
	}
	return nil
}

// restore serves the persisted routes, on the inherited sockets where
// there are some. A route that cannot bind is kept in the table and
// logged: the daemon routes it again.
func (rs *routes) restore(inherited map[string]*os.File) error {
	states, door, err := loadTable(rs.path)
	if err != nil {
		closeAll(mapFiles(inherited))
		return err
	}
	if err := rs.door.configure(door, inherited); err != nil {
		rs.log.Error("front door not served", "err", err)
	}
	delete(inherited, doorHTTP)
	delete(inherited, doorHTTPS)
	defer rs.retableLocked()
	for _, st := range states {
		passed := inherited[st.App]
		delete(inherited, st.App)
		ln, sock, err := listenFor(st.Spec, passed, nil)
		if err != nil {
			rs.log.Error("route not served", "app", st.App, "err", err)
			continue
		}
		r, err := rs.start(st, ln, sock)
		if err != nil {
			rs.log.Error("route not served", "app", st.App, "err", err)
			continue
		}
		rs.m[st.App] = r
	}
	closeAll(mapFiles(inherited)) // sockets of routes no longer in the table
	return nil
}

func mapFiles(m map[string]*os.File) []*os.File {
	var out []*os.File
	for _, f := range m {
		out = append(out, f)
	}
	return out
}

// listenControl listens on the control socket, private to berth's user.
func listenControl(path string) (*net.UnixListener, error) {
	_ = os.Remove(path) // a previous front's; we hold the lock
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("setting mode of %s: %w", path, err)
	}
	return l, nil
}

// lockFile takes RunDir/front.lock for the process's life.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, ErrRunning
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return f, nil
}

// server answers control connections: one request, one reply each.
type server struct {
	rs      *routes
	sup     *supervisor
	bufs    buffers
	log     *slog.Logger
	info    Info
	runDir  string
	ctl     *net.UnixListener
	quit    context.CancelFunc // ends Serve (after a retire)
	wg      sync.WaitGroup     // control connections, the supervisor, retiring proxies
	retired atomic.Bool        // retire ran: front.sock is the next front's

	mu   sync.Mutex
	lock *os.File // front.lock; nil while a next front waits for promotion, or once retired
}

func (s *server) serveConn(c *net.UnixConn) {
	defer c.Close()
	b, files, err := recv(c, &s.bufs)
	if err != nil {
		return
	}
	var req request
	var rep reply
	var out []*os.File
	if err := json.Unmarshal(b, &req); err != nil {
		closeAll(files)
		rep = errReply(codeBad, fmt.Errorf("decoding request: %w", err))
	} else if req.V != ProtocolVersion {
		closeAll(files)
		rep = errReply(codeBad, fmt.Errorf("protocol version %d, this front speaks %d", req.V, ProtocolVersion))
	} else {
		rep, out = s.handle(req, files)
	}
	defer closeAll(out)
	enc, err := json.Marshal(rep)
	if err != nil {
		s.log.Error("encoding reply", "op", req.Op, "err", err)
		return
	}
	if err := send(c, enc, out); err != nil {
		s.log.Warn("replying", "op", req.Op, "err", err)
	}
}

func errReply(code string, err error) reply { return reply{Code: code, Error: err.Error()} }
