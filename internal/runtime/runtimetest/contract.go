// Package runtimetest is the contract every runtime.Runtime keeps, as a
// test each backend runs against its real self (the keeper, the container
// engines): the same calls, the same answers.
package runtimetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/runtime"
)

// Maker makes the instance id of the sample agent (internal/sampleagent)
// listening on 127.0.0.1:port (inside a container: published there), with
// MODE=mode ("" = good) and the restart policy restart.
type Maker func(id string, port int, mode, restart string) runtime.Instance

// Contract runs the contract against rt. Instance ids are prefixed with
// prefix so parallel runs do not meet.
func Contract(t *testing.T, rt runtime.Runtime, prefix string, mk Maker) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t.Run("lifecycle", func(t *testing.T) { lifecycle(ctx, t, rt, mk(prefix+".blue", freePort(t), "", "always")) })
	t.Run("restart-always", func(t *testing.T) {
		restarts(ctx, t, rt, mk(prefix+".green", freePort(t), "crash", "always"))
	})
	t.Run("restart-never", func(t *testing.T) {
		never(ctx, t, rt, mk(prefix+".never", freePort(t), "crash", "never"))
	})
}

func lifecycle(ctx context.Context, t *testing.T, rt runtime.Runtime, inst runtime.Instance) {
	if _, err := rt.Status(ctx, inst.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("Status of an unknown instance: %v, want ErrNotFound", err)
	}
	st, err := rt.Start(ctx, inst)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { rt.Stop(ctx, inst.ID); rt.Remove(ctx, inst.ID) }()
	if st.State != runtime.StateRunning || st.PID <= 0 || st.ID != inst.ID || st.App != inst.App {
		t.Errorf("Start = %+v, want running with a pid", st)
	}
	waitPort(t, inst, true)
	if _, err := rt.Start(ctx, inst); !errors.Is(err, runtime.ErrRunning) {
		t.Errorf("second Start: %v, want ErrRunning", err)
	}
	list, err := rt.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !hasID(list, inst.ID) {
		t.Errorf("List = %v, without %s", list, inst.ID)
	}
	waitLog(t, inst.LogPath, "listening on")
	if st, err = rt.Stop(ctx, inst.ID); err != nil || st.State != runtime.StateStopped {
		t.Errorf("Stop = %+v, %v; want stopped", st, err)
	}
	waitPort(t, inst, false)
	if _, err := rt.Stop(ctx, inst.ID); err != nil {
		t.Errorf("Stop of a stopped instance: %v", err)
	}
	if err := rt.Remove(ctx, inst.ID); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if _, err := rt.Status(ctx, inst.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Status after Remove: %v, want ErrNotFound", err)
	}
}

func restarts(ctx context.Context, t *testing.T, rt runtime.Runtime, inst runtime.Instance) {
	if _, err := rt.Start(ctx, inst); err != nil {
		t.Fatal(err)
	}
	defer func() { rt.Stop(ctx, inst.ID); rt.Remove(ctx, inst.ID) }()
	var st runtime.Status
	for range 200 {
		st, _ = rt.Status(ctx, inst.ID)
		if st.Restarts >= 1 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.Restarts < 1 || !strings.Contains(st.LastExit, "1") {
		t.Errorf("a crashing instance with restart=always: %+v; want restarted, last exit 1", st)
	}
	if st, err := rt.Stop(ctx, inst.ID); err != nil || st.State != runtime.StateStopped {
		t.Errorf("Stop of a crash-looping instance = %+v, %v", st, err)
	}
}

func never(ctx context.Context, t *testing.T, rt runtime.Runtime, inst runtime.Instance) {
	if _, err := rt.Start(ctx, inst); err != nil {
		t.Fatal(err)
	}
	defer func() { rt.Stop(ctx, inst.ID); rt.Remove(ctx, inst.ID) }()
	var st runtime.Status
	for range 200 {
		st, _ = rt.Status(ctx, inst.ID)
		if st.State == runtime.StateExited {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // longer than the first backoff
	st, _ = rt.Status(ctx, inst.ID)
	if st.State != runtime.StateExited || st.Restarts != 0 {
		t.Errorf("a crashed instance with restart=never: %+v; want exited, never restarted", st)
	}
}

func hasID(list []runtime.Status, id string) bool {
	for _, s := range list {
		if s.ID == id {
			return true
		}
	}
	return false
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func portOf(inst runtime.Instance) string {
	for _, kv := range inst.Env {
		if v, ok := strings.CutPrefix(kv, "PORT="); ok {
			return v
		}
	}
	return ""
}

// waitPort waits up to 15 s for the instance's port to answer (up) or to
// refuse (down). A published container port may accept and then close at
// once while nothing listens behind it, so "up" is a whole HTTP exchange.
func waitPort(t *testing.T, inst runtime.Instance, up bool) {
	t.Helper()
	addr := "127.0.0.1:" + portOf(inst)
	var last error
	for range 150 {
		last = httpGet(addr)
		if (last == nil) == up {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: want up=%v, last: %v", addr, up, last)
}

func httpGet(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(c, "GET /up HTTP/1.0\r\n\r\n"); err != nil {
		return err
	}
	b := make([]byte, 12)
	n, err := c.Read(b)
	if n < 12 || !strings.HasPrefix(string(b), "HTTP/1.") {
		return fmt.Errorf("no HTTP answer: %q %v", b[:n], err)
	}
	return nil
}

func waitLog(t *testing.T, path, want string) {
	t.Helper()
	for range 150 {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("log %s never had %q", path, want)
}
