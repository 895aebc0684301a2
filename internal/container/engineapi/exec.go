package engineapi

import (
	"context"
	"io"
	"net/http"
	"strings"
)

// ExecCreate makes a process to run argv in a running container, its
// stdout and stderr attached, and returns the exec's id.
func (c *Client) ExecCreate(ctx context.Context, id string, argv []string) (string, error) {
	in := struct {
		Cmd          []string `json:"Cmd"`
		AttachStdout bool     `json:"AttachStdout"`
		AttachStderr bool     `json:"AttachStderr"`
	}{argv, true, true}
	var res struct {
		ID string `json:"Id"`
	}
	if err := c.callJSON(ctx, http.MethodPost, "/containers/"+id+"/exec", nil, in, &res); err != nil {
		return "", err
	}
	return res.ID, nil
}

// ExecStart runs the exec and returns its output, multiplexed as Logs'
// is, until the process ends. The request is a plain POST without
// Upgrade: Docker and Podman then answer 200 and write the stream on the
// hijacked connection until they close it, which is all a run without
// stdin needs. The caller closes it.
func (c *Client) ExecStart(ctx context.Context, execID string) (io.ReadCloser, error) {
	body := strings.NewReader(`{"Detach":false,"Tty":false}`)
	resp, err := c.call(ctx, http.MethodPost, "/exec/"+execID+"/start", nil, body, "application/json")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// ExecInspect reads whether the exec runs and its exit code.
func (c *Client) ExecInspect(ctx context.Context, execID string) (ExecInfo, error) {
	var out ExecInfo
	err := c.callJSON(ctx, http.MethodGet, "/exec/"+execID+"/json", nil, nil, &out)
	return out, err
}
