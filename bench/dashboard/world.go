package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/home"
)

// world is one daemon in a temporary home with its apps, started and ended
// by the benchmark (apps, then the daemon, the keeper and the front by PID).
type world struct {
	exe    string
	h      home.Layout
	cmd    *exec.Cmd
	waited chan struct{}
	client *api.Client
	base   string
	ports  []int
}

func newWorld(ctx context.Context, dir string, apps int) (*world, error) {
	exe := filepath.Join(dir, "berth")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", exe, "./cmd/berth").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building berth (run from the repository root): %w: %s", err, out)
	}
	root, err := os.MkdirTemp("", "bdash-")
	if err != nil {
		return nil, err
	}
	w := &world{exe: exe, h: home.Layout{Root: root}, waited: make(chan struct{})}
	admin := freePort()
	w.base = fmt.Sprintf("http://127.0.0.1:%d", admin)
	logf, err := os.Create(filepath.Join(root, "daemon.out"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	w.cmd = exec.Command(exe, "daemon", "--home", root, "--admin", fmt.Sprintf("127.0.0.1:%d", admin), "--supervised")
	w.cmd.Stdout, w.cmd.Stderr = logf, logf
	if err := w.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the daemon: %w", err)
	}
	go func() { _ = w.cmd.Wait(); close(w.waited) }()
	w.client = api.NewClient(w.h.Socket())
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := w.client.WaitReady(wctx); err != nil {
		w.close()
		return nil, err
	}
	for i := range apps {
		port := freePort()
		if err := w.deploy(ctx, fmt.Sprintf("app%02d", i+1), "v1", "good", port); err != nil {
			w.close()
			return nil, err
		}
		w.ports = append(w.ports, port)
	}
	return w, nil
}

// deploy writes a spec for the sample agent and deploys it with the CLI.
func (w *world) deploy(ctx context.Context, name, version, mode string, port int) error {
	src := filepath.Join(w.h.Root, "src", name+"-"+version)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	spec := fmt.Sprintf(`version = 1
name = %q
[run]
command = [%q, "sample-agent"]
user = "root"
env = { VERSION = %q, MODE = %q }
stop_timeout = "3s"
[service]
listen = "127.0.0.1:%d"
[deploy]
healthy_after = 2
verify_for = "5s"
drain_timeout = "5s"
max_latency_rise = 0.0
[[checks]]
name = "up"
type = "http"
path = "/up"
interval = "2s"
timeout = "1s"
retries = 2
start_period = "5s"
`, name, w.exe, version, mode, port)
	if err := os.WriteFile(filepath.Join(src, "berth.toml"), []byte(spec), 0o644); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, w.exe, "--home", w.h.Root, "deploy", "-f", filepath.Join(src, "berth.toml")).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && mode != "good") {
		return fmt.Errorf("deploying %s %s: %w: %s", name, version, err, out)
	}
	return nil
}

// rolledBack deploys a release of app01 that answers 500 under load, so
// the app page shows an automatic rollback with its numbers.
func (w *world) rolledBack(ctx context.Context) error {
	return w.deploy(ctx, "app01", "v2", "errors", w.ports[0])
}

// load sends a few requests per second to every app (so the sparklines
// have something to draw) until stopped.
func (w *world) load(ctx context.Context) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	c := &http.Client{Timeout: 2 * time.Second}
	for i, port := range w.ports {
		wg.Go(func() {
			t := time.NewTicker(time.Duration(100+37*i) * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

// loginURL mints a one-time dashboard login over the control socket.
func (w *world) loginURL(ctx context.Context) string {
	l, err := w.client.DashboardLogin(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "minting a login:", err)
		return ""
	}
	return l.URL
}

func (w *world) daemonPID() int { return w.cmd.Process.Pid }

// close stops the apps, the daemon, then the keeper and the front by the
// PIDs in their pid files, and removes the home.
func (w *world) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if apps, err := w.client.Status(ctx, ""); err == nil {
		for _, a := range apps {
			_ = exec.CommandContext(ctx, w.exe, "--home", w.h.Root, "stop", a.Name).Run()
		}
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.waited:
	case <-time.After(20 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.waited
	}
	for _, f := range []string{filepath.Join(w.h.KeeperDir(), "keeper.pid"), filepath.Join(w.h.RunDir(), "front", "front.pid")} {
		if b, err := os.ReadFile(f); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				_ = syscall.Kill(pid, syscall.SIGTERM)
			}
		}
	}
	time.Sleep(time.Second)
	_ = os.RemoveAll(w.h.Root)
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
