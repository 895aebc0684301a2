package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// tcpNameServer greets each connection with its name, echoes lines, and
// on the client's half-close answers "bye" before closing.
func tcpNameServer(t *testing.T, name string) Target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, name+"\n")
				io.Copy(c, c)
				io.WriteString(c, "bye\n")
			}()
		}
	}()
	return Target{Name: name, Addr: ln.Addr().String()}
}

type tcpClient struct {
	c  net.Conn
	br *bufio.Reader
}

func dialTCP(t *testing.T, p *Proxy) *tcpClient {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &tcpClient{c: c, br: bufio.NewReader(c)}
}

func (tc *tcpClient) line(t *testing.T) string {
	t.Helper()
	s, err := tc.br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading line: %q, %v", s, err)
	}
	return s
}

func TestTCPSwitchHalfCloseAndDrain(t *testing.T) {
	t.Parallel()
	blue, green := tcpNameServer(t, "blue"), tcpNameServer(t, "green")
	p := startProxy(t, Config{Protocol: "tcp"})
	p.Switch(blue)

	a := dialTCP(t, p) // stays open across the switch, then gets cut
	b := dialTCP(t, p) // half-closes and drains by itself
	greets := []string{a.line(t), b.line(t)}
	p.Switch(green)
	c := dialTCP(t, p)
	greets = append(greets, c.line(t))
	if diff := cmp.Diff([]string{"blue\n", "blue\n", "green\n"}, greets); diff != "" {
		t.Fatalf("greetings (-want +got):\n%s", diff)
	}
	io.WriteString(a.c, "ping\n")
	if got := a.line(t); got != "ping\n" {
		t.Errorf("old connection echo = %q", got)
	}

	// Half-close: the backend still gets to answer after our FIN.
	io.WriteString(b.c, "last\n")
	b.c.(*net.TCPConn).CloseWrite()
	rest, err := io.ReadAll(b.br)
	if diff := cmp.Diff("last\nbye\n", string(rest)); diff != "" || err != nil {
		t.Errorf("after half-close (-want +got), err %v:\n%s", err, diff)
	}
	eventually(t, "blue down to one connection", func() bool { return p.Stats("blue").InFlight == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if diff := cmp.Diff(DrainResult{Cut: 1}, p.Drain(ctx, "blue")); diff != "" {
		t.Errorf("Drain (-want +got):\n%s", diff)
	}
	if _, err := a.br.ReadString('\n'); err == nil {
		t.Errorf("cut connection still open")
	}
	got := p.Stats("blue")
	if diff := cmp.Diff([]any{uint64(2), int64(0)}, []any{got.Requests, got.InFlight}); diff != "" {
		t.Errorf("blue [connections in-flight] (-want +got):\n%s", diff)
	}
}

func TestTCPNoTargetCloses(t *testing.T) {
	t.Parallel()
	p := startProxy(t, Config{Protocol: "tcp"})
	c := dialTCP(t, p)
	if n, err := c.br.ReadByte(); err != io.EOF {
		t.Errorf("read = %v, %v; want EOF", n, err)
	}
}

func TestTCPDrainWaits(t *testing.T) {
	t.Parallel()
	blue := tcpNameServer(t, "blue")
	p := startProxy(t, Config{Protocol: "tcp"})
	p.Switch(blue)
	a := dialTCP(t, p)
	a.line(t)
	p.Switch(Target{})
	drained := make(chan DrainResult, 1)
	go func() { drained <- p.Drain(context.Background(), "blue") }()
	io.WriteString(a.c, "ping\n")
	a.line(t)
	// Drain counts what is open when it starts; give its goroutine ample
	// time to start before the connection ends (closing first would make
	// Drained 0, correctly, and this test flaky).
	select {
	case r := <-drained:
		t.Fatalf("Drain returned %+v with a connection open", r)
	case <-time.After(300 * time.Millisecond):
	}
	a.c.Close()
	if diff := cmp.Diff(DrainResult{Drained: 1}, <-drained); diff != "" {
		t.Errorf("Drain (-want +got):\n%s", diff)
	}
}
