package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawBackend is a real HTTP/1.1 backend written on a bare TCP listener,
// so a test controls every byte it sends and sees every byte it got. It
// answers each request with its path; on /chatty it then writes a whole
// second answer nobody asked for, the bytes a buggy or hostile app could
// leave on a pooled connection.
type rawBackend struct {
	t     *testing.T
	ln    net.Listener
	mu    sync.Mutex
	got   strings.Builder // every byte received, all connections
	wrote chan struct{}   // one value per unsolicited answer written
	delay bool            // write the unsolicited answer after a pause
}

const unsolicited = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nSECRET"

func newRawBackend(t *testing.T, delay bool) *rawBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &rawBackend{t: t, ln: ln, wrote: make(chan struct{}, 16), delay: delay}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); b.serve(c) }()
		}
	}()
	return b
}

func (b *rawBackend) target() Target { return Target{Name: "blue", Addr: b.ln.Addr().String()} }

// received returns every byte the backend got so far.
func (b *rawBackend) received() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.got.String()
}

func (b *rawBackend) record(s string) {
	b.mu.Lock()
	b.got.WriteString(s)
	b.mu.Unlock()
}

func (b *rawBackend) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	for {
		path, clen, err := b.readHead(br)
		if err != nil {
			return
		}
		if clen > 0 {
			body := make([]byte, clen)
			if _, err := io.ReadFull(br, body); err != nil {
				return
			}
			b.record(string(body))
		}
		answer := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(path), path)
		if path == "/chatty" && !b.delay {
			answer += unsolicited
		}
		if _, err := io.WriteString(c, answer); err != nil {
			return
		}
		if path == "/chatty" {
			if b.delay {
				time.Sleep(20 * time.Millisecond)
				io.WriteString(c, unsolicited)
			}
			b.wrote <- struct{}{}
		}
	}
}

// readHead reads one request head, recording it, and returns its path
// and Content-Length.
func (b *rawBackend) readHead(br *bufio.Reader) (string, int, error) {
	line, err := br.ReadString('\n')
	b.record(line)
	if err != nil {
		return "", 0, err
	}
	parts := strings.Fields(line)
	if len(parts) != 3 {
		return "", 0, fmt.Errorf("bad request line %q", line)
	}
	clen := 0
	for {
		l, err := br.ReadString('\n')
		b.record(l)
		if err != nil {
			return "", 0, err
		}
		if l == "\r\n" {
			return parts[1], clen, nil
		}
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "Content-Length") {
			clen, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
}

// tiers are the three servers a client connection can be on.
var tiers = []string{"loop", "goroutines", "net/http"}

// dialTier connects to p (started for tier's lane) and, for the net/http
// tier, first sends a request with a body, which hands the connection
// to net/http for good.
func dialTier(t *testing.T, p *Proxy, tier string) *rawConn {
	t.Helper()
	c := dialRaw(t, p)
	if tier == "net/http" {
		io.WriteString(c, "POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
		if a := c.read(t, "POST"); a.Status != 200 || a.Body != "/post" {
			t.Fatalf("POST to reach net/http: %+v", a)
		}
	}
	return c
}

// startTier starts a proxy whose HTTP/1 connections begin on tier.
func startTier(t *testing.T, tier string) *Proxy {
	t.Helper()
	lane := "loop"
	if tier == "goroutines" {
		lane = tier
	}
	return startLane(t, Config{}, lane)
}
