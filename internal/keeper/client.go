package keeper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/process"
	"github.com/berth-dev/berth/internal/runtime"
)

// Client talks to a keeper over its unix socket. It implements
// runtime.Runtime and is safe for concurrent use.
type Client struct {
	sock string
	hc   *http.Client
	tr   *http.Transport

	retry bool // wait out a keeper's replacement; false while Dial probes
}

var _ runtime.Runtime = (*Client)(nil)

// Dial returns a client for the keeper of runDir after checking that it
// answers.
func Dial(runDir string) (*Client, error) {
	sock := filepath.Join(runDir, sockName)
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
		MaxIdleConnsPerHost: 4,
	}
	c := &Client{sock: sock, tr: tr, hc: &http.Client{Transport: tr}}
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	if _, err := c.info(ctx); err != nil {
		tr.CloseIdleConnections()
		return nil, fmt.Errorf("dialing keeper at %s: %w", sock, err)
	}
	c.retry = true
	return c, nil
}

// Close releases the client's connections. The keeper keeps running.
func (c *Client) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}

// PID returns the keeper's process id.
func (c *Client) PID(ctx context.Context) (int, error) {
	info, err := c.info(ctx)
	return info.PID, err
}

func (c *Client) info(ctx context.Context) (keeperInfo, error) {
	var info keeperInfo
	err := c.do(ctx, http.MethodGet, "/v1/keeper", nil, &info)
	return info, err
}

// Start starts inst; runtime.ErrRunning when it is already active.
func (c *Client) Start(ctx context.Context, inst runtime.Instance) (runtime.Status, error) {
	var st runtime.Status
	err := c.do(ctx, http.MethodPost, "/v1/instances", toWire(inst), &st)
	return st, err
}

// Stop stops an instance gracefully and returns once none of its processes
// is left.
func (c *Client) Stop(ctx context.Context, id string) (runtime.Status, error) {
	var st runtime.Status
	err := c.do(ctx, http.MethodPost, "/v1/instances/"+url.PathEscape(id)+"/stop", nil, &st)
	return st, err
}

// Restart stops an instance and starts it again with the same spec.
func (c *Client) Restart(ctx context.Context, id string) (runtime.Status, error) {
	var st runtime.Status
	err := c.do(ctx, http.MethodPost, "/v1/instances/"+url.PathEscape(id)+"/restart", nil, &st)
	return st, err
}

// Status reports one instance; runtime.ErrNotFound when unknown.
func (c *Client) Status(ctx context.Context, id string) (runtime.Status, error) {
	var st runtime.Status
	err := c.do(ctx, http.MethodGet, "/v1/instances/"+url.PathEscape(id), nil, &st)
	return st, err
}

// List reports every instance, sorted by id.
func (c *Client) List(ctx context.Context) ([]runtime.Status, error) {
	var sts []runtime.Status
	err := c.do(ctx, http.MethodGet, "/v1/instances", nil, &sts)
	return sts, err
}

// Remove forgets an instance that is not running.
func (c *Client) Remove(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/instances/"+url.PathEscape(id), nil, nil)
}

// Events returns the events after sequence number after, waiting up to
// about 25s for one to happen (then it returns none and no error). Pass the
// last Seq seen to continue; 0 returns every event the keeper still holds.
func (c *Client) Events(ctx context.Context, after uint64) ([]Event, error) {
	var r eventsReply
	err := c.do(ctx, http.MethodGet, "/v1/events?after="+strconv.FormatUint(after, 10), nil, &r)
	return r.Events, err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var b []byte
	if in != nil {
		var err error
		if b, err = json.Marshal(in); err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
	}
	resp, err := c.send(ctx, method, path, b)
	if err != nil {
		return fmt.Errorf("calling keeper %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return decodeError(resp)
	}
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding keeper reply to %s %s: %w", method, path, err)
	}
	return nil
}

// decodeError turns an error reply back into the sentinel it came from.
func decodeError(resp *http.Response) error {
	var we wireError
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&we); err != nil || we.Error.Code == "" {
		return fmt.Errorf("keeper replied %s", resp.Status)
	}
	msg := we.Error.Message
	switch we.Error.Code {
	case codeNotFound:
		return wrapRemote(runtime.ErrNotFound, msg)
	case codeRunning:
		return wrapRemote(runtime.ErrRunning, msg)
	case codeBadRequest:
		return wrapRemote(ErrBadRequest, msg)
	case codeSpawn:
		return wrapRemote(ErrSpawn, msg)
	}
	return errors.New("keeper: " + msg)
}

// remoteError keeps the keeper's message while matching the sentinel.
type remoteError struct {
	sentinel error
	msg      string
}

func (e *remoteError) Error() string { return "keeper: " + e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }

func wrapRemote(sentinel error, msg string) error { return &remoteError{sentinel: sentinel, msg: msg} }

// gapWait bounds how long a call waits for a keeper that is being
// replaced (its socket gone or refusing): the daemon's Watch starts a new
// one within about a second, recovery can take a stop timeout.
const gapWait = 30 * time.Second

// send sends one request. A request that could not even connect reached no
// keeper, so it is safe to send again, whatever its method: it is retried
// until a keeper answers, gapWait passes or ctx ends. A GET (it changes
// nothing) is also sent again when the keeper died under it, its
// connection reset or closed before an answer.
func (c *Client) send(ctx context.Context, method, path string, b []byte) (*http.Response, error) {
	deadline := time.Now().Add(gapWait)
	for {
		var body io.Reader
		if b != nil {
			body = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, "http://keeper"+path, body)
		if err != nil {
			return nil, fmt.Errorf("building request: %w", err)
		}
		if b != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.hc.Do(req)
		again := keeperAbsent(err) || method == http.MethodGet && keeperDied(err)
		if err == nil || !again || time.Now().After(deadline) || !c.retry {
			return resp, err
		}
		c.tr.CloseIdleConnections() // they led to the keeper that died
		if !process.Sleep(ctx, 50*time.Millisecond) {
			return nil, err
		}
	}
}

// keeperAbsent reports whether err says no keeper listens on the socket.
func keeperAbsent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" &&
		(errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED))
}

// keeperDied reports whether err says the connection broke before an
// answer: the keeper died while it held the request.
func keeperDied(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
