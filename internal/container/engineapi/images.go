package engineapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ImageInspect reads an image by reference or id.
func (c *Client) ImageInspect(ctx context.Context, ref string) (ImageInfo, error) {
	var out ImageInfo
	err := c.callJSON(ctx, http.MethodGet, "/images/"+ref+"/json", nil, nil, &out)
	return out, err
}

// ImageRemove removes an image (by id, or one tag of it by reference).
func (c *Client) ImageRemove(ctx context.Context, ref string) error {
	return c.callJSON(ctx, http.MethodDelete, "/images/"+ref, nil, nil, nil)
}

// Pull pulls ref (one tag, "latest" when it names none, or one digest),
// calling each for every line of the engine's progress. A line reporting
// an error ends it with a *StreamError.
func (c *Client) Pull(ctx context.Context, ref string, each func(Message)) error {
	name, tag := splitRef(ref)
	q := url.Values{"fromImage": {name}, "tag": {tag}}
	resp, err := c.call(ctx, http.MethodPost, "/images/create", q, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return readStream(resp.Body, each)
}

// splitRef splits an image reference into the name and the tag or digest
// the pull endpoint wants apart: "nginx" is nginx:latest, a colon after
// the last slash starts a tag (one before it is a registry's port).
func splitRef(ref string) (name, tag string) {
	if n, digest, ok := strings.Cut(ref, "@"); ok {
		name, _ = splitTag(n)
		return name, digest
	}
	name, tag = splitTag(ref)
	if tag == "" {
		tag = "latest"
	}
	return name, tag
}

func splitTag(ref string) (string, string) {
	i := strings.LastIndexByte(ref, ':')
	if i < 0 || strings.LastIndexByte(ref, '/') > i {
		return ref, ""
	}
	return ref[:i], ref[i+1:]
}

// BuildOptions is how an image is built from a tar of its context.
type BuildOptions struct {
	Tags        []string
	Labels      map[string]string
	Remove      bool // remove the intermediate containers of a success
	ForceRemove bool // and of a failure
}

// Build builds the image of the Dockerfile in the tar stream tar with
// the engine's classic builder, calling each for every line of its
// output. A line reporting an error ends it with a *StreamError.
func (c *Client) Build(ctx context.Context, tar io.Reader, opts BuildOptions, each func(Message)) error {
	q := url.Values{"t": opts.Tags, "rm": {"0"}}
	if opts.Remove {
		q.Set("rm", "1")
	}
	if opts.ForceRemove {
		q.Set("forcerm", "1")
	}
	if len(opts.Labels) > 0 {
		b, err := json.Marshal(opts.Labels)
		if err != nil {
			return fmt.Errorf("encoding the build's labels: %w", err)
		}
		q.Set("labels", string(b))
	}
	resp, err := c.call(ctx, http.MethodPost, "/build", q, tar, "application/x-tar")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return readStream(resp.Body, each)
}

// readStream reads a JSON progress stream to its end.
func readStream(r io.Reader, each func(Message)) error {
	dec := json.NewDecoder(r)
	for {
		var m Message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading the engine's progress: %w", err)
		}
		if err := m.err(); err != nil {
			return err
		}
		if each != nil {
			each(m)
		}
	}
}
