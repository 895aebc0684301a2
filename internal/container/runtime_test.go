package container

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/runtime"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func newRuntime(t *testing.T, e string, home string) *Runtime {
	t.Helper()
	eng := engine(t, e)
	r, err := New(Config{Engine: e, Host: eng.Host, Home: home, StateDir: filepath.Join(home, "state")})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func testInstance(home, id string, port int, env ...string) runtime.Instance {
	return runtime.Instance{
		ID: "app." + id, App: "app", Image: "berth-test-agent:1", Release: "r1", Port: port,
		Env: append([]string{fmt.Sprintf("PORT=%d", port), "HOST=0.0.0.0", "VERSION=v1"}, env...),
		UID: 65534, GID: 65534, Restart: "always", StopTimeout: 5 * time.Second,
		LogPath:   filepath.Join(home, "logs", id+".log"),
		MemoryMax: 64 << 20, CPUs: 0.5, TasksMax: 64,
	}
}

func get(port int) (string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// waitUp polls port until it answers, at most 15 s.
func waitUp(t *testing.T, port int) string {
	t.Helper()
	var err error
	for range 150 {
		var body string
		if body, err = get(port); err == nil {
			return body
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("port %d never answered: %v", port, err)
	return ""
}

func TestStartPublishLimitsUserLogs(t *testing.T) {
	for _, e := range []string{Docker, Podman} {
		t.Run(e, func(t *testing.T) {
			home := t.TempDir()
			r := newRuntime(t, e, home)
			defer r.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			port := freePort(t)
			inst := testInstance(home, "blue", port)
			inst.Shared = filepath.Join(home, "shared")
			if err := os.MkdirAll(inst.Shared, 0o777); err != nil {
				t.Fatal(err)
			}
			st, err := r.Start(ctx, inst)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { r.Stop(ctx, inst.ID); r.Remove(ctx, inst.ID) }()
			if st.State != runtime.StateRunning || st.PID == 0 {
				t.Fatalf("status after start = %+v", st)
			}
			if body := waitUp(t, port); !strings.Contains(body, "v1") {
				t.Fatalf("GET / = %q", body)
			}
			ins, err := mobyClient(t, r).ContainerInspect(ctx, r.Name(inst.ID), client.ContainerInspectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			c := ins.Container
			res := c.HostConfig.Resources
			if res.Memory != 64<<20 || res.NanoCPUs != 5e8 || res.PidsLimit == nil || *res.PidsLimit != 64 {
				t.Errorf("limits in inspect: memory %d nanocpus %d pids %v", res.Memory, res.NanoCPUs, res.PidsLimit)
			}
			if c.Config.User != "65534:65534" {
				t.Errorf("user = %q; a root image must run as berth's account", c.Config.User)
			}
			if lc := c.HostConfig.LogConfig; e == Docker && (lc.Type != "json-file" || lc.Config["max-size"] != engineLogMax) {
				t.Errorf("engine log config = %+v, want json-file capped at %s", lc, engineLogMax)
			}
			if p := c.HostConfig.RestartPolicy.Name; p != "no" && p != "" {
				t.Errorf("restart policy = %q, want no", p)
			}
			for _, b := range c.HostConfig.PortBindings {
				for _, pb := range b {
					if pb.HostIP.String() != "127.0.0.1" {
						t.Errorf("published on %v, want loopback only", pb.HostIP)
					}
				}
			}
			if c.Config.Labels[labelApp] != "app" || c.Config.Labels[labelInstance] != inst.ID || c.Config.Labels[labelRelease] != "r1" {
				t.Errorf("labels = %v", c.Config.Labels)
			}
			// Podman spells the bind with its options: ":rw,rprivate,rbind".
			if len(c.HostConfig.Binds) != 1 || !strings.HasPrefix(c.HostConfig.Binds[0], inst.Shared+":"+inst.Shared) {
				t.Errorf("binds = %v, want the shared directory at its own path", c.HostConfig.Binds)
			}
			waitLog(t, inst.LogPath, "listening on")
			// Exec checks run inside the container, with its binaries.
			if err := r.Exec(ctx, inst.ID, []string{"/agent", "selftest"}); err != nil {
				t.Errorf("exec of the agent's self-test inside the container: %v", err)
			}
			if err := r.Exec(ctx, inst.ID, []string{"/no-such-checker"}); err == nil {
				t.Error("exec of a missing program inside the container passed")
			}
		})
	}
}

// waitLog waits up to 15 s for the log to hold a line containing want and
// returns the lines.
func waitLog(t *testing.T, path, want string) []logs.Line {
	t.Helper()
	var lines []logs.Line
	for range 150 {
		lines = lines[:0]
		_ = logs.Read(context.Background(), path, logs.Query{}, func(l logs.Line) error { lines = append(lines, l); return nil })
		for _, l := range lines {
			if strings.Contains(l.Text, want) {
				return lines
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("log %s never had %q: %v", path, want, lines)
	return nil
}

// TestRestartAndReadopt: a container that exits is started again by berth
// (not by the engine), and a new Runtime (a restarted daemon) re-adopts the
// running container, copying its output on with no line lost or twice.
func TestRestartAndReadopt(t *testing.T) {
	home := t.TempDir()
	r := newRuntime(t, Docker, home)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	port := freePort(t)
	inst := testInstance(home, "green", port, "MODE=crash-late", "CRASH_AFTER=1500ms")
	if _, err := r.Start(ctx, inst); err != nil {
		t.Fatal(err)
	}
	var st runtime.Status
	for range 100 {
		st, _ = r.Status(ctx, inst.ID)
		if st.Restarts >= 1 && st.State == runtime.StateRunning {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st.Restarts < 1 || !strings.HasPrefix(st.LastExit, "exit 1") {
		t.Fatalf("after the crash: %+v", st)
	}
	// The daemon goes away (Close is what a kill leaves: containers run
	// on, no berth watches) and a new one adopts what runs.
	r.Close()
	time.Sleep(500 * time.Millisecond)
	r2 := newRuntime(t, Docker, home)
	defer r2.Close()
	defer func() { r2.Stop(ctx, inst.ID); r2.Remove(ctx, inst.ID) }()
	list, err := r2.List(ctx)
	if err != nil || len(list) != 1 || !list[0].Adopted {
		t.Fatalf("List after restart = %+v, %v", list, err)
	}
	// It crashes again under the new runtime and is restarted by it.
	for range 150 {
		st, _ = r2.Status(ctx, inst.ID)
		if st.Restarts >= 1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st.Restarts < 1 {
		t.Fatalf("the adopting runtime did not restart the container: %+v", st)
	}
	// every start printed one "listening" and every crash one "fatal":
	// three starts at least, and no line written twice.
	var lines []logs.Line
	n := 0
	for range 100 {
		lines, n = lines[:0], 0
		_ = logs.Read(ctx, inst.LogPath, logs.Query{}, func(l logs.Line) error { lines = append(lines, l); return nil })
		for _, l := range lines {
			if strings.Contains(l.Text, "listening on") {
				n++
			}
		}
		if n >= 3 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	seen := map[string]int{}
	for _, l := range lines {
		seen[l.Time.String()+l.Text]++
		if seen[l.Time.String()+l.Text] > 1 {
			t.Errorf("line written twice: %v %q", l.Time, l.Text)
		}
	}
	if n < 3 {
		t.Errorf("%d starts in the log, want 3 or more: %v", n, lines)
	}
}

func TestBadInput(t *testing.T) {
	home := t.TempDir()
	r := newRuntime(t, Docker, home)
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inst := testInstance(home, "blue", freePort(t))
	inst.Image = "berth-no-such-image:404"
	if _, err := r.Start(ctx, inst); err == nil || !strings.Contains(err.Error(), "berth-no-such-image:404") {
		t.Errorf("unknown image: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := testInstance(home, "green", l.Addr().(*net.TCPAddr).Port)
	if _, err := r.Start(ctx, busy); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Errorf("port conflict: %v", err)
	}
	// An image that says nothing to run, and a spec that gives no command.
	var tarball bytes.Buffer
	tw := tar.NewWriter(&tarball)
	_ = tw.WriteHeader(&tar.Header{Name: "empty", Mode: 0o644, Size: 0, Typeflag: tar.TypeReg})
	tw.Close()
	if _, err := engine(t, Docker).CLI(ctx, tarball.Bytes(), "import", "-", "berth-nocmd:1"); err != nil {
		t.Fatal(err)
	}
	nocmd := testInstance(home, "blue", freePort(t))
	nocmd.Image, nocmd.Release = "berth-nocmd:1", "r2"
	if _, err := r.Start(ctx, nocmd); !errors.Is(err, ErrNoCommand) || !strings.Contains(err.Error(), "berth-nocmd:1") {
		t.Errorf("image without a command: %v", err)
	}
	down, err := New(Config{Engine: Docker, Host: "unix://" + filepath.Join(home, "none.sock"), Home: home, StateDir: home})
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	if _, err := down.Start(ctx, testInstance(home, "blue", freePort(t))); !errors.Is(err, ErrUnreachable) {
		t.Errorf("engine down: %v", err)
	}
	_ = os.Remove(filepath.Join(home, "none.sock"))
}

func containerInspectOpts() client.ContainerInspectOptions { return client.ContainerInspectOptions{} }
