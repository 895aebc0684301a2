package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/proxy"
)

// proxySource reads a real proxy's numbers per color, the way the daemon
// does for every app.
type proxySource struct {
	app    string
	p      *proxy.Proxy
	colors []string
}

func (s proxySource) ProxyStats() []ProxySample {
	out := make([]ProxySample, 0, len(s.colors))
	for _, c := range s.colors {
		out = append(out, ProxySample{App: s.app, Color: c, Stats: s.p.Stats(c)})
	}
	return out
}

// startProxy runs a real HTTP proxy on loopback until the test ends.
func startProxy(t *testing.T) *proxy.Proxy {
	t.Helper()
	p, err := proxy.New(proxy.Config{Listen: "127.0.0.1:0", Protocol: "http"})
	if err != nil {
		t.Fatalf("proxy.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		p.Close()
		if err := <-done; err != nil {
			t.Errorf("proxy Serve: %v", err)
		}
	})
	return p
}

// statusBackend answers ?status=N with N, and /hold only once hold closes.
func statusBackend(t *testing.T, hold <-chan struct{}) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-hold
			return
		}
		code, err := strconv.Atoi(r.URL.Query().Get("status"))
		if err != nil {
			code = http.StatusOK
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func get(t *testing.T, c *http.Client, url string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func TestScrapeProxyNumbers(t *testing.T) {
	t.Parallel()
	hold := make(chan struct{})
	p := startProxy(t)
	p.Switch(proxy.Target{Name: "blue", Addr: statusBackend(t, hold)})
	m := New(Sources{Proxy: proxySource{app: "web", p: p, colors: []string{"blue", "green"}}})
	url := serve(t, m)

	c := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	base := "http://" + p.Addr().String()
	for code, n := range map[int]int{200: 5, 302: 2, 404: 3, 503: 1} {
		for range n {
			get(t, c, base+"/?status="+strconv.Itoa(code))
		}
	}
	// One request stays open on blue while green's backend is down: the
	// request green refuses goes to blue, the proxy's fallback.
	resp, err := c.Get(base + "/hold")
	if err != nil {
		t.Fatalf("GET /hold: %v", err)
	}
	t.Cleanup(func() { close(hold); resp.Body.Close() })
	p.Switch(proxy.Target{Name: "green", Addr: closedAddr(t)})
	get(t, c, base+"/")

	got := scrape(t, url)
	connErrs := got[`berth_proxy_connection_errors_total{app="web",color="green"}`]
	if connErrs < 1 {
		t.Errorf("green connection errors = %v, want at least 1", connErrs)
	}
	delete(got, `berth_proxy_connection_errors_total{app="web",color="green"}`)
	want := samples{
		`berth_proxy_requests_total{app="web",class="2xx",color="blue"}`:  7, // the held one has its header; one green refused
		`berth_proxy_requests_total{app="web",class="3xx",color="blue"}`:  2,
		`berth_proxy_requests_total{app="web",class="4xx",color="blue"}`:  3,
		`berth_proxy_requests_total{app="web",class="5xx",color="blue"}`:  1,
		`berth_proxy_requests_total{app="web",class="2xx",color="green"}`: 0,
		`berth_proxy_requests_total{app="web",class="3xx",color="green"}`: 0,
		`berth_proxy_requests_total{app="web",class="4xx",color="green"}`: 0,
		`berth_proxy_requests_total{app="web",class="5xx",color="green"}`: 0, // no 502: blue answered
		`berth_proxy_connection_errors_total{app="web",color="blue"}`:     0,
		`berth_proxy_refused_total{app="web",color="blue"}`:               0,
		`berth_proxy_refused_total{app="web",color="green"}`:              1,
		`berth_proxy_forwarded_total{app="web",color="blue"}`:             13,
		`berth_proxy_forwarded_total{app="web",color="green"}`:            1,
		`berth_proxy_in_flight{app="web",color="blue"}`:                   1,
		`berth_proxy_in_flight{app="web",color="green"}`:                  0,
		`berth_scrape_source_up{source="proxy"}`:                          1,
	}
	for _, color := range []string{"blue", "green"} {
		n := want[`berth_proxy_forwarded_total{app="web",color="`+color+`"}`] -
			want[`berth_proxy_refused_total{app="web",color="`+color+`"}`]
		checkLatency(t, got, color, n)
	}
	if diff := cmp.Diff(want.only("berth_proxy_"), got.only("berth_proxy_").drop("berth_proxy_request_duration_seconds")); diff != "" {
		t.Errorf("proxy series (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.only("berth_scrape"), got.only("berth_scrape")); diff != "" {
		t.Errorf("source series (-want +got):\n%s", diff)
	}
}

// checkLatency checks the color's histogram: every observation counted,
// the exported bounds, cumulative counts never falling, a positive sum.
func checkLatency(t *testing.T, got samples, color string, n float64) {
	t.Helper()
	name := `berth_proxy_request_duration_seconds`
	lbl := `app="web",color="` + color + `"`
	if c := got[name+`_count{`+lbl+`}`]; c != n {
		t.Errorf("%s latency count = %v, want %v", color, c, n)
	}
	if s := got[name+`_sum{`+lbl+`}`]; n == 0 && s != 0 {
		t.Errorf("%s latency sum = %v with no observations, want 0", color, s)
	} else if n > 0 && (s <= 0 || s > n*10) {
		t.Errorf("%s latency sum = %v, want a positive number of seconds", color, s)
	}
	prev := 0.0
	bounds := latencyBuckets()
	for _, b := range bounds {
		v, ok := got[name+`_bucket{`+lbl+`,le="`+fmtLe(b.le)+`"}`]
		if !ok {
			t.Errorf("%s latency: no bucket le=%v; have %v", color, b.le, got.only(name))
			continue
		}
		if v < prev {
			t.Errorf("%s latency: bucket le=%v = %v, below the previous %v", color, b.le, v, prev)
		}
		prev = v
	}
	if inf := got[name+`_bucket{`+lbl+`,le="+Inf"}`]; inf != n {
		t.Errorf("%s latency +Inf bucket = %v, want %v", color, inf, n)
	}
	if k := len(got.only(name + `_bucket{` + lbl)); k != len(bounds)+1 {
		t.Errorf("%s latency has %d buckets, want %d", color, k, len(bounds)+1)
	}
}
