package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"

	"github.com/berth-dev/berth/internal/upload"
)

// Missing asks which of hashes the app's content store lacks.
func (c *Client) Missing(ctx context.Context, app string, hashes []string) ([]string, error) {
	var out UploadMissing
	err := c.getJSON(ctx, http.MethodPost, "/v1/apps/"+url.PathEscape(app)+"/objects/missing", UploadCheck{Hashes: hashes}, &out)
	return out.Missing, err
}

// Upload sends the contents named by hashes to the app's store and
// returns the bytes that went over the connection (tar framing included).
func (c *Client) Upload(ctx context.Context, app string, l *upload.Local, hashes []string) (int64, error) {
	pr, pw := io.Pipe()
	cw := &countingReader{r: pr}
	go func() {
		_, err := l.WriteObjects(pw, hashes)
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://berth/v1/apps/"+url.PathEscape(app)+"/objects", cw)
	if err != nil {
		pr.Close()
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-tar")
	resp, err := c.send(req)
	pr.CloseWithError(io.ErrClosedPipe) // ends the writer if the request failed early
	if err != nil {
		return cw.n.Load(), err
	}
	defer resp.Body.Close()
	var out UploadStored
	return cw.n.Load(), json.NewDecoder(resp.Body).Decode(&out)
}

// countingReader counts what was read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64 // read by the caller while the transport may still be reading
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
