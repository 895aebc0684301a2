package health

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/spec"
)

// maxBodyRead bounds how much of a response body is searched for
// expect_body, so a misbehaving instance cannot make a probe read forever.
const maxBodyRead = 64 << 10

// Probe runs one check once. Implementations are safe for concurrent use.
type Probe interface {
	Probe(ctx context.Context) Result
}

// NewProbe returns a probe for c against t. An http probe made this way has
// its own client; WaitHealthy and Watcher share one client per call instead.
// A check of unknown type yields a probe that always fails and says why.
func NewProbe(c spec.Check, t Target) Probe {
	return newProbe(normalize(c), t, newHTTPClient())
}

func newProbe(c spec.Check, t Target, client *http.Client) Probe {
	if t.Host == "" {
		t.Host = "127.0.0.1"
	}
	switch c.Type {
	case spec.CheckHTTP:
		return &httpProbe{check: c, target: t, client: client}
	case spec.CheckTCP:
		return &tcpProbe{check: c, target: t}
	case spec.CheckExec:
		return &execProbe{check: c, target: t}
	case spec.CheckHeartbeat:
		return &heartbeatProbe{check: c, target: t}
	default:
		return badProbe{check: c}
	}
}

// newHTTPClient builds the client probes share. Keep-alive is off: a probe
// must prove that a new client can connect, and a reused connection would
// hide a closed listener; it also means probes never pile up idle sockets.
// Redirects are not followed so expect_status sees what the app answered,
// and proxies from the environment are ignored because targets are local.
func newHTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:             nil,
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// run times fn and fills in the Result around its error.
func run(ctx context.Context, c spec.Check, fn func(ctx context.Context) error) Result {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout.Duration)
	defer cancel()
	start := time.Now()
	err := fn(ctx)
	r := Result{Check: c.Name, OK: err == nil, Duration: time.Since(start), At: start}
	if err != nil {
		r.Err = err.Error()
	}
	return r
}

type httpProbe struct {
	check  spec.Check
	target Target
	client *http.Client
}

func (p *httpProbe) Probe(ctx context.Context) Result {
	return run(ctx, p.check, p.do)
}

func (p *httpProbe) do(ctx context.Context) error {
	method := p.check.Method
	if method == "" {
		method = http.MethodGet
	}
	path := p.check.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	url := "http://" + net.JoinHostPort(p.target.Host, strconv.Itoa(p.target.Port)) + path
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("User-Agent", "berth-health")
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("requesting %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	want := p.check.ExpectStatus
	if want == 0 {
		want = defaultStatus
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d", method, path, resp.StatusCode, want)
	}
	if p.check.ExpectBody == "" {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyRead))
	if err != nil {
		return fmt.Errorf("reading body of %s %s: %w", method, path, err)
	}
	if !strings.Contains(string(body), p.check.ExpectBody) {
		return fmt.Errorf("%s %s: body does not contain %q (got %q)", method, path, p.check.ExpectBody, snippet(body))
	}
	return nil
}

// snippet shortens a body for an error message.
func snippet(b []byte) string {
	const max = 200
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

type tcpProbe struct {
	check  spec.Check
	target Target
}

func (p *tcpProbe) Probe(ctx context.Context) Result {
	return run(ctx, p.check, func(ctx context.Context) error {
		addr := net.JoinHostPort(p.target.Host, strconv.Itoa(p.target.Port))
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("connecting to %s: %w", addr, err)
		}
		return conn.Close()
	})
}

type badProbe struct{ check spec.Check }

func (p badProbe) Probe(ctx context.Context) Result {
	return run(ctx, p.check, func(context.Context) error {
		return fmt.Errorf("unknown check type %q", p.check.Type)
	})
}
