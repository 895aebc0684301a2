package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/state"
)

// ErrPermission is returned when the socket exists but this user may not
// open it.
var ErrPermission = errors.New("permission denied")

// deniedError names the cause: a directory on the way this user cannot
// enter, else the socket itself, whose group the user is not in.
func deniedError(socket string) error {
	var dirs []string // outermost first: the first one closed is the cause
	for dir := filepath.Dir(socket); dir != "/" && dir != "."; dir = filepath.Dir(dir) {
		dirs = append([]string{dir}, dirs...)
	}
	for _, dir := range dirs {
		if unix.Access(dir, unix.X_OK) != nil {
			if inSocketGroup(dir) {
				break // the daemon's own run directory: membership is the cure
			}
			mode := "?"
			if fi, err := os.Stat(dir); err == nil {
				mode = fmt.Sprintf("%04o", fi.Mode().Perm())
			}
			return fmt.Errorf("%w on %s: its directory %s (mode %s) does not let you in; ask its owner, or use sudo", ErrPermission, socket, dir, mode)
		}
	}
	return fmt.Errorf("%w on %s: add yourself to group %s (sudo usermod -aG %s $USER, then log in again)", ErrPermission, socket, SocketGroup, SocketGroup)
}

// inSocketGroup reports whether path belongs to group SocketGroup.
func inSocketGroup(path string) bool {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return false
	}
	g, err := user.LookupGroupId(strconv.Itoa(int(st.Gid)))
	return err == nil && g.Name == SocketGroup
}

// ErrNoDaemon is returned when nothing answers on the control socket.
var ErrNoDaemon = errors.New("no berth daemon answers")

// Client talks to the daemon over its unix socket, or over a connection
// a Dial function opens (ssh to another host). Safe for concurrent use.
type Client struct {
	socket string // the unix socket; "" when dial reaches another host
	where  string // what messages name: the socket or the host
	hc     *http.Client
}

// Dial opens one connection to a daemon's control API.
type Dial func(ctx context.Context) (net.Conn, error)

// NewClient returns a client for the daemon listening on socket.
func NewClient(socket string) *Client {
	c := NewDialClient(socket, func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	})
	c.socket = socket
	return c
}

// NewDialClient returns a client whose connections dial opens; where names
// the daemon in messages. dial's errors are returned as they are: they
// name their cause and fix.
func NewDialClient(where string, dial Dial) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			conn, err := dial(ctx)
			if err != nil {
				return nil, &dialError{err}
			}
			return conn, nil
		},
		MaxIdleConns:    4,
		IdleConnTimeout: 30 * time.Second,
	}
	return &Client{where: where, hc: &http.Client{Transport: tr}}
}

// dialError marks an error of Dial, so do returns it unwrapped.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

func (c *Client) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if raw, ok := body.(rawBody); ok {
		rd, body = bytes.NewReader(raw), nil // sent as is (a secret's value)
	} else if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://berth"+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req)
}

// send runs req and turns an error answer into an *Error.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	method, path := req.Method, req.URL.Path
	resp, err := c.hc.Do(req)
	var de *dialError
	if errors.As(err, &de) && c.socket == "" {
		return nil, de.err
	}
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" && errors.Is(err, os.ErrPermission) {
			return nil, deniedError(c.socket)
		}
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, fmt.Errorf("%w on %s (start one with: berth daemon)", ErrNoDaemon, c.socket)
		}
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var e Error
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Code == "" {
			return nil, fmt.Errorf("%s %s: %s", method, path, resp.Status)
		}
		return nil, &e
	}
	return resp, nil
}

func (c *Client) getJSON(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

// Version pings the daemon.
func (c *Client) Version(ctx context.Context) (Version, error) {
	var v Version
	return v, c.getJSON(ctx, http.MethodGet, "/v1/version", nil, &v)
}

// WaitReady polls until the daemon answers or ctx ends.
func (c *Client) WaitReady(ctx context.Context) error {
	for {
		if _, err := c.Version(ctx); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w on %s: %v", ErrNoDaemon, c.where, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Deploy deploys and streams progress to out. The error is an *Error; code
// "failed" means the deploy ran and did not go live.
func (c *Client) Deploy(ctx context.Context, req DeployRequest, out deploy.ProgressFunc) (state.Deployment, error) {
	return c.stream(ctx, "/v1/deploy", req, out)
}

// Rollback rolls app back to release to ("" = the previous one).
func (c *Client) Rollback(ctx context.Context, app, to string, out deploy.ProgressFunc) (state.Deployment, error) {
	return c.stream(ctx, "/v1/apps/"+url.PathEscape(app)+"/rollback", RollbackRequest{To: to}, out)
}

// Restart restarts app (without downtime for blue-green apps).
func (c *Client) Restart(ctx context.Context, app string, out deploy.ProgressFunc) (state.Deployment, error) {
	return c.stream(ctx, "/v1/apps/"+url.PathEscape(app)+"/restart", struct{}{}, out)
}

// Promote ends the running canary's current step of app and returns its
// deployment ID and the step promoted.
func (c *Client) Promote(ctx context.Context, app string) (PromoteAnswer, error) {
	var a PromoteAnswer
	return a, c.getJSON(ctx, http.MethodPost, "/v1/apps/"+url.PathEscape(app)+"/promote", struct{}{}, &a)
}

// Abort stops the running deploy of app and returns its deployment ID; the
// deploy then undoes itself (Attach follows it to its end).
func (c *Client) Abort(ctx context.Context, app string) (string, error) {
	var a AbortAnswer
	return a.Deployment, c.getJSON(ctx, http.MethodPost, "/v1/apps/"+url.PathEscape(app)+"/abort", struct{}{}, &a)
}

// Remove takes app out of berth; purge deletes its releases, data and logs.
func (c *Client) Remove(ctx context.Context, app string, purge bool) error {
	var a RemoveAnswer
	return c.getJSON(ctx, http.MethodDelete, "/v1/apps/"+url.PathEscape(app)+"?purge="+strconv.FormatBool(purge), nil, &a)
}

// Attach follows the running deploy of app: its steps so far, then each
// new one, then its result, as Deploy returns them.
func (c *Client) Attach(ctx context.Context, app string, out deploy.ProgressFunc) (state.Deployment, error) {
	return c.streamReq(ctx, http.MethodGet, "/v1/apps/"+url.PathEscape(app)+"/attach", nil, out)
}

func (c *Client) stream(ctx context.Context, path string, body any, out deploy.ProgressFunc) (state.Deployment, error) {
	return c.streamReq(ctx, http.MethodPost, path, body, out)
}

func (c *Client) streamReq(ctx context.Context, method, path string, body any, out deploy.ProgressFunc) (state.Deployment, error) {
	resp, err := c.do(ctx, method, path, body)
	if err != nil {
		return state.Deployment{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var l StreamLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return state.Deployment{}, fmt.Errorf("reading progress: %w", err)
		}
		if l.Progress != nil {
			if out != nil {
				out(*l.Progress)
			}
			continue
		}
		var d state.Deployment
		if l.Result != nil {
			d = *l.Result
		}
		if l.Error != nil {
			return d, l.Error
		}
		return d, nil
	}
	if err := sc.Err(); err != nil {
		return state.Deployment{}, fmt.Errorf("reading progress: %w", err)
	}
	return state.Deployment{}, errors.New("the daemon ended the stream without a result (did it stop?)")
}

// Status reports all apps, or one.
func (c *Client) Status(ctx context.Context, app string) ([]deploy.AppStatus, error) {
	path := "/v1/apps"
	if app != "" {
		path += "/" + url.PathEscape(app)
	}
	var out []deploy.AppStatus
	return out, c.getJSON(ctx, http.MethodGet, path, nil, &out)
}

// LiveSet returns the members of app's live set as its proxy holds them.
func (c *Client) LiveSet(ctx context.Context, app string) ([]deploy.SetMember, error) {
	var out []deploy.SetMember
	return out, c.getJSON(ctx, http.MethodGet, "/v1/apps/"+url.PathEscape(app)+"/live-set", nil, &out)
}

// Control runs start, stop, pause (mode hold|refuse) or resume.
func (c *Client) Control(ctx context.Context, app, action, mode string) ([]deploy.AppStatus, error) {
	var body any
	if action == "pause" {
		body = PauseRequest{Mode: mode}
	}
	var out []deploy.AppStatus
	return out, c.getJSON(ctx, http.MethodPost, "/v1/apps/"+url.PathEscape(app)+"/"+action, body, &out)
}

// Scale runs n instances of app's live release and returns its status.
func (c *Client) Scale(ctx context.Context, app string, n int) ([]deploy.AppStatus, error) {
	var out []deploy.AppStatus
	return out, c.getJSON(ctx, http.MethodPost, "/v1/apps/"+url.PathEscape(app)+"/scale", ScaleRequest{Instances: n}, &out)
}

// Why explains app's state in a few lines.
func (c *Client) Why(ctx context.Context, app string) ([]string, error) {
	var out []string
	return out, c.getJSON(ctx, http.MethodGet, "/v1/apps/"+url.PathEscape(app)+"/why", nil, &out)
}

// CheckApp runs app's functional checks once on its live instance.
func (c *Client) CheckApp(ctx context.Context, app string) ([]health.Result, error) {
	var out []health.Result
	return out, c.getJSON(ctx, http.MethodPost, "/v1/apps/"+url.PathEscape(app)+"/check", struct{}{}, &out)
}

// History lists app's deployments, newest first.
func (c *Client) History(ctx context.Context, app string, limit int) ([]state.Deployment, error) {
	var out []state.Deployment
	return out, c.getJSON(ctx, http.MethodGet, fmt.Sprintf("/v1/apps/%s/history?limit=%d", url.PathEscape(app), limit), nil, &out)
}

// Events lists journal events after seq (tail > 0: the newest tail events).
func (c *Client) Events(ctx context.Context, app string, after uint64, tail int) ([]state.Event, error) {
	q := url.Values{"app": {app}, "after": {fmt.Sprint(after)}}
	if tail > 0 {
		q.Set("tail", fmt.Sprint(tail))
	}
	var out []state.Event
	return out, c.getJSON(ctx, http.MethodGet, "/v1/events?"+q.Encode(), nil, &out)
}

// Logs streams app's log lines to out until the answer ends (or ctx, with follow).
func (c *Client) Logs(ctx context.Context, app string, q url.Values, out func(logs.Line) error) error {
	resp, err := c.do(ctx, http.MethodGet, "/v1/apps/"+url.PathEscape(app)+"/logs?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var l logs.Line
		if err := dec.Decode(&l); err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := out(l); err != nil {
			return err
		}
	}
}
