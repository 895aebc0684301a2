// Package engineapi is berth's own small client of the Docker Engine API, the
// one Docker and Podman's compatible service both speak: the dozen-odd
// calls the container runtime makes, as plain HTTP/1.1 over the engine's
// unix socket or a tcp:// address (no TLS), with structs of only the
// fields berth sends and reads.
//
// It is hand-written instead of using github.com/moby/moby/client because
// every berth process (daemon, keeper, front) runs the same binary: that
// client links 79 packages (OpenTelemetry, distribution/reference, ...)
// whose init work and pages cost memory and start-up time in all three,
// whether they talk to an engine or not (docs/benchmarks.md, "Memory").
//
// The API version is negotiated as the engine's own tools do: GET /_ping
// answers the newest version the engine speaks in its API-Version header,
// and the client speaks the lower of that and MaxVersion in every path
// (/v1.44/containers/...), raised to the engine's MinAPIVersion (GET
// /version) when the engine no longer accepts MaxVersion. A Client is safe
// for concurrent use.
package engineapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxVersion is the newest API version berth speaks: every change of the
// API up to it was read against the fields berth sends and reads (none
// moved since 1.41, Docker 20.10 and Podman 4), and it is the oldest that
// Docker 29 still accepts.
const MaxVersion = "1.44"

// Client talks to one engine. It does not connect until the first call,
// so a berth daemon starts whether or not the engine is up.
type Client struct {
	host string // as given: unix:///run/docker.sock, tcp://127.0.0.1:2375
	addr string // the authority of every request URL
	hc   *http.Client

	mu      sync.Mutex
	version string // negotiated; "" until the first ping
	newest  string // the engine's newest version when it was negotiated
}

// New makes a client of host: unix://PATH or tcp://HOST:PORT (plain HTTP,
// as DOCKER_HOST=tcp://... without DOCKER_TLS_VERIFY). Other schemes
// (ssh://, npipe://) are refused with what is supported.
func New(host string) (*Client, error) {
	proto, addr, ok := strings.Cut(host, "://")
	if !ok || addr == "" {
		return nil, fmt.Errorf("parsing engine address %q: want unix:///path/to.sock or tcp://host:port", host)
	}
	tr := &http.Transport{
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	var authority string
	switch proto {
	case "unix":
		d := net.Dialer{Timeout: 10 * time.Second}
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", addr)
		}
		authority = "engine.localhost" // any name: the socket is dialled
	case "tcp", "http":
		u, err := url.Parse("tcp://" + addr)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("parsing engine address %q: want tcp://host:port", host)
		}
		tr.Proxy = http.ProxyFromEnvironment
		tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
		authority = u.Host
	default:
		return nil, fmt.Errorf("engine address %q: scheme %s is not supported; berth speaks to unix:// and tcp:// (without TLS)", host, proto)
	}
	return &Client{host: host, addr: authority, hc: &http.Client{Transport: tr}}, nil
}

// Host is the address the client was made of.
func (c *Client) Host() string { return c.host }

// Close drops the idle connections. Calls may still be made after it.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// Ping checks that the engine answers and returns the API version the
// client speaks to it. The first ping, and one after the engine's newest
// version changed (an upgrade under a running berth), negotiates it.
func (c *Client) Ping(ctx context.Context) (string, error) {
	resp, err := c.send(ctx, http.MethodGet, "/_ping", nil, nil, "")
	if err != nil {
		return "", err
	}
	drain(resp)
	newest := resp.Header.Get("Api-Version")
	c.mu.Lock()
	v, seen := c.version, c.newest
	c.mu.Unlock()
	if v != "" && seen == newest {
		return v, nil
	}
	v = negotiate(newest, c.oldest(ctx))
	c.mu.Lock()
	c.version, c.newest = v, newest
	c.mu.Unlock()
	return v, nil
}

// oldest is the oldest API version the engine accepts, from its
// unversioned /version; "" when it does not say.
func (c *Client) oldest(ctx context.Context) string {
	resp, err := c.send(ctx, http.MethodGet, "/version", nil, nil, "")
	if err != nil {
		return ""
	}
	defer drain(resp)
	var v struct {
		MinAPIVersion string `json:"MinAPIVersion"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, maxErrorBody)).Decode(&v)
	return v.MinAPIVersion
}

// negotiate is the version to speak to an engine that speaks newest down
// to oldest: the lower of newest and MaxVersion (MaxVersion when the
// engine does not say), but never below oldest, which an engine refuses.
func negotiate(newest, oldest string) string {
	v := MaxVersion
	if validVersion(newest) && lessVersion(newest, MaxVersion) {
		v = newest
	}
	if validVersion(oldest) && lessVersion(v, oldest) {
		v = oldest
	}
	return v
}

// validVersion reports whether v is "MAJOR.MINOR" in digits.
func validVersion(v string) bool {
	a, b, ok := strings.Cut(v, ".")
	_, err1 := strconv.Atoi(a)
	_, err2 := strconv.Atoi(b)
	return ok && err1 == nil && err2 == nil
}

// lessVersion reports whether API version a is older than b (both valid).
func lessVersion(a, b string) bool {
	am, an, _ := strings.Cut(a, ".")
	bm, bn, _ := strings.Cut(b, ".")
	x, _ := strconv.Atoi(am)
	y, _ := strconv.Atoi(bm)
	if x != y {
		return x < y
	}
	x, _ = strconv.Atoi(an)
	y, _ = strconv.Atoi(bn)
	return x < y
}

// apiPath is path under the negotiated version, pinging first when no
// version was negotiated yet.
func (c *Client) apiPath(ctx context.Context, path string) (string, error) {
	c.mu.Lock()
	v := c.version
	c.mu.Unlock()
	if v == "" {
		var err error
		if v, err = c.Ping(ctx); err != nil {
			return "", err
		}
	}
	return "/v" + v + path, nil
}

// call sends a request under the API version and returns the response of
// a success; an answer of 400 or more is an *Error with the engine's text.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, body io.Reader, contentType string) (*http.Response, error) {
	p, err := c.apiPath(ctx, path)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, method, p, q, body, contentType)
}

func (c *Client) send(ctx context.Context, method, path string, q url.Values, body io.Reader, contentType string) (*http.Response, error) {
	// The path is escaped here, once: an image reference may hold any
	// character the engine's router takes ("/" included).
	u := url.URL{Scheme: "http", Host: c.addr, Path: path, RawQuery: q.Encode()}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("making the request %s %s: %w", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "berth")
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("reaching the engine at %s: %w", c.host, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}

// callJSON sends in (nil: no body) as JSON and decodes the answer into out
// (nil: the answer is dropped).
func (c *Client) callJSON(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding the request %s %s: %w", method, path, err)
		}
		body, ct = strings.NewReader(string(b)), "application/json"
	}
	resp, err := c.call(ctx, method, path, q, body, ct)
	if err != nil {
		return err
	}
	defer drain(resp)
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("reading the engine's answer to %s %s: %w", method, path, err)
	}
	return nil
}

// drain reads a little of what is left (so the connection can be used
// again) and closes the body.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	_ = resp.Body.Close()
}
