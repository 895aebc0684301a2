package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkForward measures one small GET through the proxy over real
// loopback sockets, for profiling the request path (go test -bench
// Forward -cpuprofile). The comparison against nginx is bench/proxy.
func BenchmarkForward(b *testing.B) { benchForward(b, 1) }

// BenchmarkForwardSet4 is BenchmarkForward through a live set of 4
// members, each its own backend: the balancing overhead against one
// (bench/rolling prints the two side by side).
func BenchmarkForwardSet4(b *testing.B) { benchForward(b, 4) }

func benchForward(b *testing.B, members int) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789")
	})
	p, err := New(Config{Listen: "127.0.0.1:0", Protocol: "http"})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	go p.Serve(b.Context())
	if members == 1 {
		p.Switch(Target{Name: "blue", Addr: newHTTPBackend(&testing.T{}, h)})
	} else {
		var ms []Member
		for i := range members {
			ms = append(ms, Member{Target: Target{Name: fmt.Sprintf("blue.%d", i), Addr: newHTTPBackend(&testing.T{}, h)}, Weight: 1})
		}
		p.SwitchSet("blue", ms)
	}
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

// BenchmarkLane measures one small GET through the lane with raw
// keep-alive sockets on both sides, so allocs/op counts the proxy's own
// allocations (the real-load comparison is go run ./bench/proxy/ab).
func BenchmarkLane(b *testing.B) { benchLane(b, 1) }

// BenchmarkLaneSet4 is BenchmarkLane with a live set of 4 members (one
// backend under 4 names): the cost of picking the least loaded member.
func BenchmarkLaneSet4(b *testing.B) { benchLane(b, 4) }

// BenchmarkLaneCanary4 is BenchmarkLaneSet4 with two of the four members
// a 10% canary: the split's side choice on every request.
func BenchmarkLaneCanary4(b *testing.B) { benchLane(b, -4) }

// benchLane serves members targets (one: Switch; more: SwitchSet; a
// negative count: a set whose second half is a 10% canary).
func benchLane(b *testing.B, members int) {
	canary := members < 0
	members = max(members, -members)
	answer := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\nDate: Wed, 25 Nov 2026 10:00:00 GMT\r\n\r\n" + strings.Repeat("x", 100))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					if _, err := readHeadOf(br); err != nil {
						return
					}
					if _, err := c.Write(answer); err != nil {
						return
					}
				}
			}()
		}
	}()
	p, err := New(Config{Listen: "127.0.0.1:0", Protocol: "http"})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	go p.Serve(b.Context())
	if members == 1 {
		p.Switch(Target{Name: "blue", Addr: ln.Addr().String()})
	} else {
		var ms []Member
		for i := range members {
			m := Member{Target: Target{Name: fmt.Sprintf("blue.%d", i), Addr: ln.Addr().String()}, Weight: 1}
			if canary {
				m.Weight, m.Canary = 90, i >= members/2
				if m.Canary {
					m.Weight = 10
				}
			}
			ms = append(ms, m)
		}
		p.SwitchSet("blue", ms)
	}
	req := []byte("GET /api/items?id=7 HTTP/1.1\r\nHost: app.example\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", p.Addr().String())
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for pb.Next() {
			if _, err := c.Write(req); err != nil {
				b.Error(err)
				return
			}
			if _, err := readHeadOf(br); err != nil {
				b.Error(err)
				return
			}
			if _, err := br.Discard(100); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// readHeadOf reads through the empty line that ends a header.
func readHeadOf(br *bufio.Reader) (int, error) {
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		n += len(line)
		if err != nil {
			return n, err
		}
		if len(line) == 2 {
			return n, nil
		}
	}
}
