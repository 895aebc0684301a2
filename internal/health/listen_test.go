package health

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/spec"
)

// An app that ignores PORT and binds its own port: the gate's error names
// PORT, the port berth waited on, and where the app listens instead, found
// in the process tree below the instance's pid (here a shell's child).
func TestGateNamesTheAddressAnAppListensOnInstead(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	prog := `import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(60)`
	// sh stays the parent: the listener is a grandchild of nothing else.
	cmd := exec.Command("/bin/sh", "-c", `"$0" -c "$1"; exit 0`, py, prog)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the app's port: %v", err)
	}
	own := strings.TrimSpace(line)
	port := closedPort(t)
	c := spec.Check{Name: "up", Type: spec.CheckTCP, Interval: dur(20 * time.Millisecond), Retries: 1}
	for _, tc := range []struct {
		name string
		pid  int
		want string
	}{
		{name: "with the pid", pid: cmd.Process.Pid,
			want: fmt.Sprintf("the app listens on 127.0.0.1:%s, not on PORT=%d (berth waited on 127.0.0.1:%d): bind to $PORT", own, port, port)},
		{name: "without", want: fmt.Sprintf("the port berth passes in PORT=%d: does the app bind to $PORT?", port)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := WaitHealthy(ctx, []spec.Check{c}, Target{Host: "127.0.0.1", Port: port, PID: tc.pid}, 1, nil, nil)
			if !errors.Is(err, ErrUnhealthy) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrUnhealthy with %q", err, tc.want)
			}
		})
	}
}

func TestProcAddr(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{name: "ipv4 loopback", in: "0100007F:1388", want: "127.0.0.1:5000"},
		{name: "ipv4 any", in: "00000000:0050", want: "0.0.0.0:80"},
		{name: "ipv6 loopback", in: "00000000000000000000000001000000:1F90", want: "[::1]:8080"},
		{name: "ipv6 any", in: "00000000000000000000000000000000:1F90", want: "[::]:8080"},
	}
	for _, tc := range tests {
		if got, ok := procAddr(tc.in); !ok || got != tc.want {
			t.Errorf("%s: procAddr(%q) = %q, %v; want %q", tc.name, tc.in, got, ok, tc.want)
		}
	}
	if _, ok := procAddr("nonsense"); ok {
		t.Error("procAddr accepted nonsense")
	}
}

// The gate's error names the failing check's role: a liveness check is not
// called a readiness check.
func TestGateErrorNamesTheRole(t *testing.T) {
	t.Parallel()
	c := spec.Check{Name: "alive", Type: spec.CheckTCP, Role: spec.RoleLiveness, Interval: dur(20 * time.Millisecond), Retries: 1}
	err := WaitHealthy(context.Background(), []spec.Check{c}, Target{Host: "127.0.0.1", Port: closedPort(t)}, 1, nil, nil)
	if !errors.Is(err, ErrUnhealthy) || !strings.Contains(err.Error(), `liveness check "alive" failed`) {
		t.Fatalf("got %v, want a liveness check failure", err)
	}
}
