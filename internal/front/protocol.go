package front

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/proxy"
)

// ProtocolVersion is carried in every request; a front refuses others.
const ProtocolVersion = 1

// Operations of the control protocol (docs/front-protocol.md).
const (
	opInfo      = "info"
	opRoute     = "route"
	opRemove    = "remove"
	opSwitch    = "switch"
	opSwitchSet = "switch_set"
	opLive      = "live"
	opDrain     = "drain"
	opPause     = "pause"
	opResume    = "resume"
	opStats     = "stats"
	opListeners = "listeners"
	opSupervise = "supervise"
	opRelease   = "release"
	opDoor      = "door"
	opDoorStat  = "door_status"
	opRetire    = "retire"  // upgrade.go
	opPromote   = "promote" // upgrade.go
)

// Error codes in replies; the client maps them back to sentinels.
const (
	codeNotFound = "not_found"
	codeConflict = "conflict"
	codeBad      = "bad_request"
	codeListen   = "listen_failed"
)

// ErrNoRoute is returned for an app the front has no route for.
var ErrNoRoute = errors.New("no route for this app")

// ErrConflict is returned when another app's route holds the listen address.
var ErrConflict = errors.New("listen address held by another app")

// ErrRunning is returned by Serve when another front holds the run
// directory's lock.
var ErrRunning = errors.New("another front is running")

// RouteSpec is what a route serves: where it listens and how it forwards.
type RouteSpec struct {
	Listen         string        `json:"listen"` // "" with Hosts: front door only
	Protocol       string        `json:"protocol"`
	RequestTimeout time.Duration `json:"request_timeout"` // nanoseconds
	// Hosts are served on the front door's shared listeners (door.go),
	// under PathPrefix ("" is "/"), with certificates as TLS says.
	Hosts      []string `json:"hosts,omitempty"`
	PathPrefix string   `json:"path_prefix,omitempty"`
	TLS        TLSSpec  `json:"tls,omitzero"`
}

// TLSSpec is how a route's hosts get certificates: Mode "acme" (from the
// door's ACME CA), "off" (plain HTTP only), or "file" with Cert and Key,
// PEM files the front reads.
type TLSSpec struct {
	Mode string `json:"mode,omitempty"`
	Cert string `json:"cert,omitempty"`
	Key  string `json:"key,omitempty"`
}

// equal reports whether two specs are the same route.
func (s RouteSpec) equal(o RouteSpec) bool {
	return s.Listen == o.Listen && s.Protocol == o.Protocol && s.RequestTimeout == o.RequestTimeout &&
		slices.Equal(s.Hosts, o.Hosts) && s.PathPrefix == o.PathPrefix && s.TLS == o.TLS
}

// RouteState is one route as the front holds and persists it.
type RouteState struct {
	App  string       `json:"app"`
	Spec RouteSpec    `json:"spec"`
	Live proxy.Target `json:"live"`
	// Set is the live set when the app runs several instances (Live is
	// then its name); empty for a single target.
	Set   []proxy.Member `json:"set,omitempty"`
	Pause string         `json:"pause,omitempty"` // "", "hold" or "refuse"
}

// Info describes a running front.
type Info struct {
	PID       int       `json:"pid"`
	Version   string    `json:"version"`
	Build     string    `json:"build,omitempty"` // Go toolchain, platform, VCS revision
	StartedAt time.Time `json:"started_at"`
}

// request is one message from a client. A route request MAY carry one
// listening socket as SCM_RIGHTS (Listener true).
type request struct {
	V        int            `json:"v"`
	Op       string         `json:"op"`
	App      string         `json:"app,omitempty"`
	Spec     *RouteSpec     `json:"spec,omitempty"`
	Listener bool           `json:"listener,omitempty"`
	Target   proxy.Target   `json:"target,omitzero"`
	Members  []proxy.Member `json:"members,omitempty"`
	Name     string         `json:"name,omitempty"`
	Budget   time.Duration  `json:"budget,omitempty"`
	Mode     string         `json:"mode,omitempty"`
	Daemon   *DaemonSpec    `json:"daemon,omitempty"`
	PID      int            `json:"pid,omitempty"`
	Door     *DoorSpec      `json:"door,omitempty"`
}

// DaemonSpec is how a front restarts the daemon that registered it: the
// same binary, arguments, environment and directory. A supervise request
// carries the daemon's stdout and stderr as SCM_RIGHTS, so the restarted
// daemon appends to the same log.
type DaemonSpec struct {
	PID  int      `json:"pid"`
	Exe  string   `json:"exe"`
	Args []string `json:"args"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
}

// reply is the front's answer. A listeners reply carries one socket per
// entry of Apps, in order, as SCM_RIGHTS.
type reply struct {
	Error   string            `json:"error,omitempty"`
	Code    string            `json:"code,omitempty"`
	Info    Info              `json:"info,omitzero"`
	Created bool              `json:"created,omitempty"`
	Prev    proxy.Target      `json:"prev,omitzero"`
	Live    proxy.Target      `json:"live,omitzero"`
	Set     []proxy.Member    `json:"set,omitempty"` // with live: the live set
	Stats   proxy.Stats       `json:"stats,omitzero"`
	Epoch   int64             `json:"epoch,omitempty"` // the front's start (ns), with stats
	Drain   proxy.DrainResult `json:"drain,omitzero"`
	Routes  []RouteState      `json:"routes,omitempty"`
	Hosts   []HostStatus      `json:"hosts,omitempty"` // door_status
	Apps    []string          `json:"apps,omitempty"`
}

// maxMsg bounds one message; maxFDs is the kernel's SCM_MAX_FD.
const (
	maxMsg = 1 << 20
	maxFDs = 253
)

// send writes one message with files attached as SCM_RIGHTS.
func send(c *net.UnixConn, b []byte, files []*os.File) error {
	var oob []byte
	if len(files) > 0 {
		if len(files) > maxFDs {
			return fmt.Errorf("sending %d sockets: at most %d per message", len(files), maxFDs)
		}
		fds := make([]int, len(files))
		for i, f := range files {
			fd, err := rawFD(f)
			if err != nil {
				return err
			}
			fds[i] = fd
		}
		oob = unix.UnixRights(fds...)
	}
	n, _, err := c.WriteMsgUnix(b, oob, nil)
	if err != nil {
		return fmt.Errorf("sending message: %w", err)
	}
	if n != len(b) {
		return fmt.Errorf("sending message: short write %d of %d", n, len(b))
	}
	return nil
}

// rawFD returns f's descriptor without f.Fd, which would switch the
// socket, shared with the proxy serving it, to blocking mode. The
// descriptor stays valid while f is open.
func rawFD(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("reaching socket: %w", err)
	}
	fd := -1
	if err := rc.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return 0, fmt.Errorf("reaching socket: %w", err)
	}
	return fd, nil
}

// recv reads one message and the files attached to it.
// The caller owns the returned bytes (a copy: buffers come from bufs, as a
// verify window reads stats several times a second).
func recv(c *net.UnixConn, bufs *buffers) ([]byte, []*os.File, error) {
	bp := bufs.get()
	defer bufs.p.Put(bp)
	b := *bp
	oob := make([]byte, unix.CmsgSpace(maxFDs*4))
	n, oobn, flags, _, err := c.ReadMsgUnix(b, oob)
	if err != nil {
		return nil, nil, fmt.Errorf("receiving message: %w", err)
	}
	files, err := parseRights(oob[:oobn])
	if err != nil {
		return nil, nil, err
	}
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		closeAll(files)
		return nil, nil, errors.New("receiving message: truncated")
	}
	if n == 0 {
		closeAll(files)
		return nil, nil, errors.New("receiving message: peer closed")
	}
	return append([]byte(nil), b[:n]...), files, nil
}

// buffers holds maxMsg buffers for recv. Safe for concurrent use; the
// zero value is ready.
type buffers struct{ p sync.Pool }

func (b *buffers) get() *[]byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return v
	}
	buf := make([]byte, maxMsg)
	return &buf
}

func parseRights(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("parsing control message: %w", err)
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
			files = append(files, os.NewFile(uintptr(fd), "socket"))
		}
	}
	return files, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// pauseMode maps the wire's pause names to the proxy's modes.
func pauseMode(s string) (proxy.PauseMode, bool) {
	switch s {
	case "hold":
		return proxy.PauseHold, true
	case "refuse":
		return proxy.PauseRefuse, true
	}
	return 0, false
}

func pauseName(m proxy.PauseMode) string {
	switch m {
	case proxy.PauseHold:
		return "hold"
	case proxy.PauseRefuse:
		return "refuse"
	}
	return ""
}
