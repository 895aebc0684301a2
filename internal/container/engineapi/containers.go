package engineapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// Create creates a container and returns its id.
func (c *Client) Create(ctx context.Context, req CreateRequest) (string, error) {
	q := url.Values{}
	if req.Name != "" {
		q.Set("name", req.Name)
	}
	var res struct {
		ID string `json:"Id"`
	}
	if err := c.callJSON(ctx, http.MethodPost, "/containers/create", q, req, &res); err != nil {
		return "", err
	}
	return res.ID, nil
}

// Start starts a created or stopped container. Starting a running one is
// no error (the engine answers 304).
func (c *Client) Start(ctx context.Context, id string) error {
	return c.callJSON(ctx, http.MethodPost, "/containers/"+id+"/start", nil, nil, nil)
}

// Stop stops a container: its stop signal, then SIGKILL after timeout
// seconds (nil: the container's own StopTimeout).
func (c *Client) Stop(ctx context.Context, id string, timeout *int) error {
	q := url.Values{}
	if timeout != nil {
		q.Set("t", strconv.Itoa(*timeout))
	}
	return c.callJSON(ctx, http.MethodPost, "/containers/"+id+"/stop", q, nil, nil)
}

// Remove removes a container, killing it first when force is set.
func (c *Client) Remove(ctx context.Context, id string, force bool) error {
	q := url.Values{}
	if force {
		q.Set("force", "1")
	}
	return c.callJSON(ctx, http.MethodDelete, "/containers/"+id, q, nil, nil)
}

// List lists containers, stopped ones too when all is set, with every
// label of labels ("key=value" or "key").
func (c *Client) List(ctx context.Context, all bool, labels ...string) ([]ContainerSummary, error) {
	q := url.Values{}
	if all {
		q.Set("all", "1")
	}
	if len(labels) > 0 {
		f := map[string]map[string]bool{"label": {}}
		for _, l := range labels {
			f["label"][l] = true
		}
		b, err := json.Marshal(f)
		if err != nil {
			return nil, fmt.Errorf("encoding the label filter: %w", err)
		}
		q.Set("filters", string(b))
	}
	var out []ContainerSummary
	if err := c.callJSON(ctx, http.MethodGet, "/containers/json", q, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Inspect reads a container by id or name.
func (c *Client) Inspect(ctx context.Context, id string) (ContainerInfo, error) {
	var out ContainerInfo
	err := c.callJSON(ctx, http.MethodGet, "/containers/"+id+"/json", nil, nil, &out)
	return out, err
}

// Wait blocks until the container is not running (returning at once when
// it is not) and returns its exit code and the engine's error text of the
// wait, if any. It is one long-polled request: ctx ends it.
func (c *Client) Wait(ctx context.Context, id string) (int64, string, error) {
	q := url.Values{"condition": {"not-running"}}
	var res struct {
		StatusCode int64 `json:"StatusCode"`
		Error      *struct {
			Message string `json:"Message"`
		} `json:"Error"`
	}
	if err := c.callJSON(ctx, http.MethodPost, "/containers/"+id+"/wait", q, nil, &res); err != nil {
		return -1, "", err
	}
	msg := ""
	if res.Error != nil {
		msg = res.Error.Message
	}
	return res.StatusCode, msg, nil
}

// LogsOptions says which of a container's output to read.
type LogsOptions struct {
	Follow     bool   // keep reading until the container stops or ctx ends
	Timestamps bool   // each line begins with its RFC 3339 time and a space
	Since      string // Unix seconds with an optional fraction, "" = all
}

// Logs reads the stdout and stderr of a container without a TTY: the
// multiplexed stream of 8-byte headers (stream, 0, 0, 0, big-endian
// length) and their bytes. The caller closes it.
func (c *Client) Logs(ctx context.Context, id string, opts LogsOptions) (io.ReadCloser, error) {
	q := url.Values{"stdout": {"1"}, "stderr": {"1"}}
	if opts.Follow {
		q.Set("follow", "1")
	}
	if opts.Timestamps {
		q.Set("timestamps", "1")
	}
	if opts.Since != "" {
		q.Set("since", opts.Since)
	}
	resp, err := c.call(ctx, http.MethodGet, "/containers/"+id+"/logs", q, nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
