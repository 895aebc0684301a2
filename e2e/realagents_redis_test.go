package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// redisDo sends one command in RESP to addr and returns the first line of
// the reply, plus the bulk string's text for a "$n" reply.
func redisDo(addr string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "$") && line != "$-1" {
		v, err := r.ReadString('\n')
		return strings.TrimRight(v, "\r\n"), err
	}
	return line, nil
}

// TestRedisSingleton deploys redis-server as a stateful singleton (restart
// strategy, its data in the app's shared directory, its own user): a key
// written through berth's TCP proxy survives a deploy of a new release.
func TestRedisSingleton(t *testing.T) {
	t.Parallel()
	needBinary(t, "redis-server")
	name := ownUser(t, "rds")
	e := newEnv(t)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	spec := func(version string) map[string]string {
		return map[string]string{"berth.toml": fmt.Sprintf(`version = 1
name = %q

[run]
command = ["redis-server", "--bind", "127.0.0.1", "--port", "${PORT}", "--dir", "${BERTH_SHARED}",
           "--appendonly", "yes", "--save", "", "--daemonize", "no"]
env = { VERSION = %q }
stop_timeout = "10s"

[service]
listen = %q
protocol = "tcp"

[deploy]
strategy = "restart"

[[checks]]
name = "port"
type = "tcp"
interval = "200ms"
timeout = "1s"
start_period = "5s"
`, name, version, addr)}
	}
	e.deployFile(name, e.release(name, "v1", spec("v1")))
	e.eventually(15*time.Second, "redis answers PING", func() error {
		if r, err := redisDo(addr, "PING"); err != nil || r != "+PONG" {
			return fmt.Errorf("PING: %q %v", r, err)
		}
		return nil
	})
	if r, err := redisDo(addr, "SET", "berth-key", "kept across deploys"); err != nil || r != "+OK" {
		t.Fatalf("SET: %q %v", r, err)
	}
	first := e.liveInstance(name)

	e.deployFile(name, e.release(name, "v2", spec("v2")))
	second := e.liveInstance(name)
	if second.PID == first.PID || second.Release == first.Release {
		t.Fatalf("the deploy did not replace redis: pid %d release %s, was %d %s", second.PID, second.Release, first.PID, first.Release)
	}
	var got string
	e.eventually(15*time.Second, "the key after the deploy", func() error {
		var err error
		got, err = redisDo(addr, "GET", "berth-key")
		return err
	})
	if got != "kept across deploys" {
		t.Errorf("GET after the deploy = %q, want the value written before it", got)
	}
	aof, _ := filepath.Glob(filepath.Join(e.home, "apps", name, "shared", "appendonlydir", "*"))
	if len(aof) == 0 {
		entries, _ := os.ReadDir(filepath.Join(e.home, "apps", name))
		t.Errorf("no append-only file in the shared directory; app dir holds %v", entries)
	}
	logs := e.berth("logs", name, "-n", "200").stdout
	for _, want := range []string{"Ready to accept connections", "Received SIGTERM"} {
		if !strings.Contains(logs, want) {
			t.Errorf("berth logs lacks redis's %q:\n%s", want, logs)
		}
	}
}
