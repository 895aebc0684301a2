package proxy

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// closedAfter reads its text, then fails as net/http's server body does
// once the server has read it to its end and closed it.
type closedAfter struct{ r io.Reader }

func (c *closedAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		return n, http.ErrBodyReadAfterClose
	}
	return n, err
}

// A body of declared length ends after its last byte without reading the
// client's body again: the server may have closed it by then, and the
// Transport's failed read cut the backend connection mid-answer (the
// failure TestRefusedRequestGoesToFallback met about once in 1,000 runs).
func TestCheckedBodyEndsAtDeclaredLength(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("payload-", 4096)
	r := &http.Request{
		ProtoMajor:    1,
		ContentLength: int64(len(body)),
		Body:          io.NopCloser(&closedAfter{strings.NewReader(body)}),
	}
	b, err := checkBody(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(b)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	if len(got) != len(body) {
		t.Fatalf("read %d bytes, want %d", len(got), len(body))
	}
	if n, err := b.Read(make([]byte, 8)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("read after the end = %d, %v; want 0, EOF", n, err)
	}
}
