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
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
)

// callTimeout bounds one request that does not say otherwise.
const callTimeout = 5 * time.Second

// retryFor is how long a route keeps retrying a change while the front
// cannot be reached (it is being restarted).
const retryFor = 5 * time.Second

// Client talks to a front over its control socket: one connection per
// request. Safe for concurrent use.
type Client struct {
	sock string
	log  *slog.Logger
	bufs buffers
}

// Dial returns a client for the front of runDir after checking it answers.
func Dial(runDir string, log *slog.Logger) (*Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{sock: filepath.Join(runDir, sockName), log: log}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, _, err := c.Info(ctx); err != nil {
		return nil, fmt.Errorf("dialing front at %s: %w", c.sock, err)
	}
	return c, nil
}

// Info returns the front's identity and its routes.
func (c *Client) Info(ctx context.Context) (Info, []RouteState, error) {
	rep, _, err := c.call(ctx, request{Op: opInfo}, nil)
	return rep.Info, rep.Routes, err
}

// Route creates or adopts app's route on spec (see Serve); listener, when
// not nil, is the socket to serve instead of binding spec.Listen.
func (c *Client) Route(ctx context.Context, app string, spec RouteSpec, listener *os.File) (*Route, error) {
	var files []*os.File
	if listener != nil {
		files = []*os.File{listener}
	}
	req := request{Op: opRoute, App: app, Spec: &spec, Listener: listener != nil}
	_, _, err := c.call(ctx, req, files)
	// A front being restarted answers within a second or so; the socket,
	// if any, is sent again (the failed send closed nothing of ours).
	for deadline := time.Now().Add(retryFor); errors.Is(err, errUnreachable) && time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(50 * time.Millisecond)
		_, _, err = c.call(ctx, req, files)
	}
	if err != nil {
		return nil, fmt.Errorf("routing %s on %s: %w", app, spec.Listen, err)
	}
	return &Route{c: c, app: app, stats: map[string]*counted{}}, nil
}

// Remove stops app's route and closes its listener.
func (c *Client) Remove(ctx context.Context, app string) error {
	_, _, err := c.call(ctx, request{Op: opRemove, App: app}, nil)
	return err
}

// Listeners returns a duplicate of every route's listening socket by app;
// the caller owns the files.
func (c *Client) Listeners(ctx context.Context) (map[string]*os.File, error) {
	rep, files, err := c.call(ctx, request{Op: opListeners}, nil)
	if err != nil {
		return nil, err
	}
	if len(files) != len(rep.Apps) {
		closeAll(files)
		return nil, fmt.Errorf("listeners: %d sockets for %d apps", len(files), len(rep.Apps))
	}
	out := make(map[string]*os.File, len(files))
	for i, app := range rep.Apps {
		out[app] = files[i]
	}
	return out, nil
}

// call sends one request and returns its reply and attached sockets.
func (c *Client) call(ctx context.Context, req request, files []*os.File) (reply, []*os.File, error) {
	req.V = ProtocolVersion
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, callTimeout)
		defer cancel()
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unixpacket", c.sock)
	if err != nil {
		return reply{}, nil, fmt.Errorf("%w: %w", errUnreachable, err)
	}
	conn := nc.(*net.UnixConn)
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	b, err := json.Marshal(req)
	if err != nil {
		return reply{}, nil, fmt.Errorf("encoding request: %w", err)
	}
	if err := send(conn, b, files); err != nil {
		return reply{}, nil, fmt.Errorf("%w: %w", errUnreachable, err)
	}
	b, got, err := recv(conn, &c.bufs)
	if err != nil {
		return reply{}, nil, fmt.Errorf("%w: %w", errUnreachable, err)
	}
	var rep reply
	if err := json.Unmarshal(b, &rep); err != nil {
		closeAll(got)
		return reply{}, nil, fmt.Errorf("decoding reply: %w", err)
	}
	if rep.Error != "" {
		closeAll(got)
		return rep, nil, fromCode(rep.Code, rep.Error)
	}
	return rep, got, nil
}

// errUnreachable marks failures to reach the front (worth a retry).
var errUnreachable = errors.New("front unreachable")

func fromCode(code, msg string) error {
	switch code {
	case codeNotFound:
		return fmt.Errorf("%w: %s", ErrNoRoute, msg)
	case codeConflict:
		return fmt.Errorf("%w: %s", ErrConflict, msg)
	}
	return errors.New(msg)
}

// Route steers one app's route in the front; it has the methods the
// deploy engine uses on a proxy. Changes are retried for a few seconds
// while the front is unreachable; reads that fail return the last value
// read, so a verify window never sees counters go backwards. Safe for
// concurrent use.
type Route struct {
	c   *Client
	app string

	mu    sync.Mutex
	live  proxy.Target
	stats map[string]*counted
}

func (r *Route) retry(req request) reply {
	req.App = r.app
	deadline := time.Now().Add(retryFor)
	for {
		rep, _, err := r.c.call(context.Background(), req, nil)
		if err == nil {
			return rep
		}
		if !errors.Is(err, errUnreachable) || time.Now().After(deadline) {
			r.c.log.Error("front refused a change", "app", r.app, "op", req.Op, "err", err)
			return rep
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Switch makes t the live target and returns the previous one.
func (r *Route) Switch(t proxy.Target) proxy.Target {
	rep := r.retry(request{Op: opSwitch, Target: t})
	r.mu.Lock()
	r.live = t
	r.mu.Unlock()
	return rep.Prev
}

// SwitchSet makes the weighted set members live under name at once and
// returns the previous live target (proxy.Proxy.SwitchSet).
func (r *Route) SwitchSet(name string, members []proxy.Member) proxy.Target {
	rep := r.retry(request{Op: opSwitchSet, Name: name, Members: members})
	r.Live() // the front says what the set's live target is
	return rep.Prev
}

// Live returns the live target.
func (r *Route) Live() proxy.Target {
	rep, _, err := r.c.call(context.Background(), request{Op: opLive, App: r.app}, nil)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.live = rep.Live
	}
	return r.live
}

// LiveSet returns the live targets and their weights (nil when the front
// cannot be reached; a front from before sets were reported answers the
// live target alone).
func (r *Route) LiveSet() []proxy.Member {
	rep, _, err := r.c.call(context.Background(), request{Op: opLive, App: r.app}, nil)
	switch {
	case err != nil:
		return nil
	case len(rep.Set) > 0:
		return rep.Set
	case rep.Live != (proxy.Target{}):
		return []proxy.Member{{Target: rep.Live, Weight: 1}}
	}
	return nil
}

// Stats returns the cumulative numbers of target name. They never go
// backwards: a new front counts from 0, so what the fronts before it
// counted is added (a verify window spanning a front's restart sees the
// sum, not an underflow).
func (r *Route) Stats(name string) proxy.Stats {
	rep, _, err := r.c.call(context.Background(), request{Op: opStats, App: r.app, Name: name}, nil)
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.stats[name]
	if c == nil {
		c = &counted{}
		r.stats[name] = c
	}
	if err == nil {
		c.read(rep.Epoch, rep.Stats)
	}
	return c.total()
}

// counted is one target's numbers across fronts.
type counted struct {
	epoch int64       // the front that counted last
	base  proxy.Stats // what the fronts before it counted
	last  proxy.Stats
}

func (c *counted) read(epoch int64, s proxy.Stats) {
	if c.epoch != 0 && epoch != c.epoch {
		c.base = addStats(c.base, c.last)
	}
	c.epoch, c.last = epoch, s
}

func (c *counted) total() proxy.Stats {
	t := addStats(c.base, c.last)
	t.InFlight = c.last.InFlight
	return t
}

// addStats sums two targets' counters (InFlight is a's).
func addStats(a, b proxy.Stats) proxy.Stats {
	a.Requests += b.Requests
	a.Status2xx += b.Status2xx
	a.Status3xx += b.Status3xx
	a.Status4xx += b.Status4xx
	a.Status5xx += b.Status5xx
	a.ConnErrors += b.ConnErrors
	a.Refused += b.Refused
	for i := range a.Latency.Counts {
		a.Latency.Counts[i] += b.Latency.Counts[i]
	}
	return a
}

// Drain waits until nothing is in flight on target name, cutting what is
// left when ctx ends.
func (r *Route) Drain(ctx context.Context, name string) proxy.DrainResult {
	req := request{Op: opDrain, App: r.app, Name: name}
	if dl, ok := ctx.Deadline(); ok {
		req.Budget = max(time.Until(dl), time.Millisecond)
	}
	// The front bounds the drain by the budget; the call gets a little more.
	cctx, cancel := context.WithTimeout(context.Background(), req.Budget+callTimeout)
	if req.Budget == 0 {
		cctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	rep, _, err := r.c.call(cctx, req, nil)
	if err != nil {
		r.c.log.Warn("draining through the front", "app", r.app, "target", name, "err", err)
	}
	return rep.Drain
}

// Pause holds or refuses new traffic.
func (r *Route) Pause(mode proxy.PauseMode) { r.retry(request{Op: opPause, Mode: pauseName(mode)}) }

// Resume lets new traffic through again.
func (r *Route) Resume() { r.retry(request{Op: opResume}) }

// Supervise asks the front to restart the daemon of spec should it die
// without calling Release; stdout and stderr are the daemon's own, which
// the restarted daemon writes to. A later Supervise replaces it.
func (c *Client) Supervise(ctx context.Context, spec DaemonSpec, stdout, stderr *os.File) error {
	_, _, err := c.call(ctx, request{Op: opSupervise, Daemon: &spec}, []*os.File{stdout, stderr})
	if err != nil {
		return fmt.Errorf("asking the front to supervise the daemon: %w", err)
	}
	return nil
}

// Release tells the front that the daemon pid is exiting on purpose: it
// is not restarted.
func (c *Client) Release(ctx context.Context, pid int) error {
	_, _, err := c.call(ctx, request{Op: opRelease, PID: pid}, nil)
	return err
}
