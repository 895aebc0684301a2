package proxy

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkForward measures one small GET through the proxy over real
// loopback sockets, for profiling the request path (go test -bench
// Forward -cpuprofile). The comparison against nginx is bench/proxy.
func BenchmarkForward(b *testing.B) {
	addr := newHTTPBackend(&testing.T{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789")
	}))
	p, err := New(Config{Listen: "127.0.0.1:0", Protocol: "http"})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	go p.Serve(b.Context())
	p.Switch(Target{Name: "blue", Addr: addr})
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	url := "http://" + p.Addr().String() + "/"
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
