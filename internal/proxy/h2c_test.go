package proxy

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// seenRequest is what a backend saw of one request.
type seenRequest struct {
	Method, Path, Proto, Upgrade, Settings, Body string
}

// recordingBackend answers "hello <path>" and reports each request.
func recordingBackend(t *testing.T) (string, <-chan seenRequest) {
	t.Helper()
	seen := make(chan seenRequest, 8)
	addr := newHTTPBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen <- seenRequest{r.Method, r.URL.Path, r.Proto, r.Header.Get("Upgrade"), r.Header.Get("Http2-Settings"), string(b)}
		io.WriteString(w, "hello "+r.URL.Path)
	}))
	return addr, seen
}

// curlSettings is the HTTP2-Settings curl 7.88 sends: 100 streams, a
// 32 MiB window, no push.
const curlSettings = "AAMAAABkAAQCAAAAAAIAAAAA"

// h2Answer is what the client got on one stream.
type h2Answer struct {
	Status string
	Body   string
}

// readStream reads frames until stream id ends, acknowledging settings.
func readStream(t *testing.T, fr *http2.Framer, id uint32) h2Answer {
	t.Helper()
	var a h2Answer
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading HTTP/2 frames for stream %d: %v", id, err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY %v while waiting for stream %d", f.ErrCode, id)
		case *http2.RSTStreamFrame:
			t.Fatalf("stream %d reset: %v", f.StreamID, f.ErrCode)
		case *http2.MetaHeadersFrame:
			if f.StreamID == id && a.Status == "" {
				a.Status = f.PseudoValue("status")
			}
			if f.StreamID == id && f.StreamEnded() {
				return a
			}
		case *http2.DataFrame:
			if f.StreamID == id {
				a.Body += string(f.Data())
				if f.StreamEnded() {
					return a
				}
			}
		}
	}
}

// The HTTP/1.1 request that asks for h2c gets 101, then its answer on
// stream 1; the connection then carries further HTTP/2 requests.
func TestH2CUpgrade(t *testing.T) {
	t.Parallel()
	addr, seen := recordingBackend(t)
	p := startProxy(t, Config{})
	p.Switch(Target{Name: "blue", Addr: addr})
	c := dialRaw(t, p)

	fmt.Fprintf(c, "GET /first HTTP/1.1\r\nHost: app\r\nConnection: Upgrade, HTTP2-Settings\r\n"+
		"Upgrade: h2c\r\nHTTP2-Settings: %s\r\n\r\n", curlSettings)
	resp, err := http.ReadResponse(c.br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("reading the upgrade answer: %v", err)
	}
	if got := []any{resp.StatusCode, resp.Header.Get("Upgrade")}; !cmp.Equal(got, []any{101, "h2c"}) {
		t.Fatalf("upgrade answer [status Upgrade] = %v, want [101 h2c]", got)
	}

	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c.br)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	first := readStream(t, fr, 1)

	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "app"}, {":path", "/second"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	second := readStream(t, fr, 3)

	want := []h2Answer{{"200", "hello /first"}, {"200", "hello /second"}}
	if diff := cmp.Diff(want, []h2Answer{first, second}); diff != "" {
		t.Errorf("answers on streams 1 and 3 (-want +got):\n%s", diff)
	}
	// The backend hop stays HTTP/1.1, and nothing of the upgrade reaches it.
	wantSeen := []seenRequest{
		{Method: "GET", Path: "/first", Proto: "HTTP/1.1"},
		{Method: "GET", Path: "/second", Proto: "HTTP/1.1"},
	}
	if diff := cmp.Diff(wantSeen, []seenRequest{<-seen, <-seen}); diff != "" {
		t.Errorf("requests at the backend (-want +got):\n%s", diff)
	}

	// Close must end the upgraded connection rather than wait for it.
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung on an upgraded h2c connection")
	}
}

// Requests the proxy does not upgrade are answered over HTTP/1.1 and never
// tunnelled to the backend as an upgrade.
func TestH2CUpgradeDeclined(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		head string
		body string
		want seenRequest
	}{
		{
			name: "request with a body",
			head: "POST /form HTTP/1.1\r\nHost: app\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n" +
				"HTTP2-Settings: " + curlSettings + "\r\nContent-Length: 4\r\n\r\n",
			body: "data",
			want: seenRequest{Method: "POST", Path: "/form", Proto: "HTTP/1.1", Body: "data"},
		},
		{
			name: "no HTTP2-Settings",
			head: "GET /plain HTTP/1.1\r\nHost: app\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
			want: seenRequest{Method: "GET", Path: "/plain", Proto: "HTTP/1.1"},
		},
		{
			name: "HTTP2-Settings not base64url",
			head: "GET /bad HTTP/1.1\r\nHost: app\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: ***\r\n\r\n",
			want: seenRequest{Method: "GET", Path: "/bad", Proto: "HTTP/1.1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr, seen := recordingBackend(t)
			p := startProxy(t, Config{})
			p.Switch(Target{Name: "blue", Addr: addr})
			c := dialRaw(t, p)
			io.WriteString(c, tc.head+tc.body)
			method, _, _ := strings.Cut(tc.head, " ")
			got := c.read(t, method)
			if diff := cmp.Diff([]any{200, "hello " + tc.want.Path}, []any{got.Status, got.Body}); diff != "" {
				t.Errorf("answer [status body] (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, <-seen); diff != "" {
				t.Errorf("request at the backend (-want +got):\n%s", diff)
			}
		})
	}
}
