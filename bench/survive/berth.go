package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/home"
)

// build compiles berth into dir/name with version stamped.
func build(ctx context.Context, dir, name, version string) (string, error) {
	exe := filepath.Join(dir, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags", "-X main.version="+version, "-o", exe, "./cmd/berth")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building berth (run from the repository root): %w: %s", err, out)
	}
	return exe, nil
}

// berth is one home with its daemon, front and keeper, started by the
// benchmark and ended by it, by pid.
type berth struct {
	exe    string
	h      home.Layout
	client *api.Client
	daemon *exec.Cmd
	waited chan struct{} // closed once daemon is reaped
}

func startBerth(ctx context.Context, exe string) (*berth, error) {
	root, err := os.MkdirTemp("", "bsurv-") // short: socket paths fit in 108 bytes
	if err != nil {
		return nil, fmt.Errorf("creating a home: %w", err)
	}
	b := &berth{exe: exe, h: home.Layout{Root: root}, client: api.NewClient(filepath.Join(root, "run", "berth.sock"))}
	if err := b.h.Create(); err != nil {
		return nil, err
	}
	if err := b.startDaemon(ctx); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// startDaemon starts the daemon as the benchmark's child, --supervised:
// the benchmark restarts it after a kill, as systemd or runit would (the
// front's own restarts back off on a crash loop of 20 kills in a row).
func (b *berth) startDaemon(ctx context.Context) error {
	logf, err := os.OpenFile(filepath.Join(b.h.Root, "daemon.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(b.exe, "daemon", "--home", b.h.Root, "--supervised")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the daemon: %w", err)
	}
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()
	b.daemon, b.waited = cmd, waited
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return b.client.WaitReady(wctx)
}

// daemonPID asks the daemon its pid; 0 when it does not answer.
func (b *berth) daemonPID(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	v, err := b.client.Version(ctx)
	if err != nil {
		return 0
	}
	return v.PID
}

func (b *berth) pidFile(rel string) int {
	data, err := os.ReadFile(filepath.Join(b.h.RunDir(), rel))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

func (b *berth) frontPID() int  { return b.pidFile("front/front.pid") }
func (b *berth) keeperPID() int { return b.pidFile("keeper/keeper.pid") }

// deploy deploys the sample agent as app name on listen.
func (b *berth) deploy(ctx context.Context, name, listen string) error {
	dir := filepath.Join(b.h.Root, "src", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user = \"root\"\n"
	}
	spec := fmt.Sprintf(`version = 1
name = %q

[run]
command = ["./agent", "sample-agent"]
env = { VERSION = "v1", MODE = "good" }
%s
[service]
listen = %q

[deploy]
strategy = "bluegreen"
healthy_after = 1
verify_for = "0s"

[[checks]]
name = "up"
type = "http"
path = "/up"
interval = "100ms"
timeout = "1s"
retries = 3
start_period = "2s"
`, name, user, listen)
	specFile := filepath.Join(dir, "berth.toml")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		return err
	}
	if err := copyFile(b.exe, filepath.Join(dir, "agent")); err != nil {
		return err
	}
	_, err := b.client.Deploy(ctx, api.DeployRequest{SpecFile: specFile, Spec: []byte(spec)}, nil)
	if err != nil {
		return fmt.Errorf("deploying %s: %w", name, err)
	}
	return nil
}

// liveAgent returns the address of app's live instance.
func (b *berth) liveAgent(ctx context.Context, app string) (string, error) {
	apps, err := b.client.Status(ctx, app)
	if err != nil {
		return "", err
	}
	for _, a := range apps {
		for _, in := range a.Instances {
			if in.Live && in.Port > 0 {
				return fmt.Sprintf("127.0.0.1:%d", in.Port), nil
			}
		}
	}
	return "", fmt.Errorf("%s has no live instance", app)
}

// cli runs the berth CLI of this home.
func (b *berth) cli(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.exe, append([]string{"--home", b.h.Root}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("berth %s: %w: %s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// close stops the apps, then the daemon, front and keeper by pid, and
// removes the home.
func (b *berth) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if apps, err := b.client.Status(ctx, ""); err == nil {
		for _, a := range apps {
			_, _ = b.client.Control(ctx, a.Name, "stop", "")
		}
	}
	if b.daemon != nil {
		_ = b.daemon.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.waited:
		case <-time.After(20 * time.Second):
			_ = b.daemon.Process.Kill()
			<-b.waited
		}
	}
	for _, pid := range []int{b.frontPID(), b.keeperPID()} {
		if pid > 0 {
			stopPID(pid)
		}
	}
	b.client.Close()
	_ = os.RemoveAll(b.h.Root)
}

// stopPID SIGTERMs pid and waits for it, killing it after 15 s.
func stopPID(pid int) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(15 * time.Second); alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return
		}
	}
}

// alive is true while pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || len(b) < i+3 || b[i+2] != 'Z'
}

// waitFor polls cond every 10 ms for at most limit.
func waitFor(limit time.Duration, what string, cond func() bool) error {
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s", what, limit)
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
