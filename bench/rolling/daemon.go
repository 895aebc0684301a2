package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
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

// build compiles berth into dir and returns the binary's path.
func build(ctx context.Context, dir string) (string, error) {
	exe := filepath.Join(dir, "berth")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", exe, "./cmd/berth").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building berth (run from the repository root): %w: %s", err, out)
	}
	return exe, nil
}

// daemon is one berth daemon in a temporary home, started and stopped by
// the benchmark: apps via the API, then the daemon, keeper and front by
// PID (the front outlives a daemon by design).
type daemon struct {
	exe    string
	h      home.Layout
	cmd    *exec.Cmd
	client *api.Client
	waited chan struct{}
}

func startDaemon(ctx context.Context, exe string) (*daemon, error) {
	root, err := os.MkdirTemp("", "broll-") // short: the socket path must fit in 108 bytes
	if err != nil {
		return nil, fmt.Errorf("creating a home: %w", err)
	}
	d := &daemon{exe: exe, h: home.Layout{Root: root}, waited: make(chan struct{})}
	if err := d.h.Create(); err != nil {
		return nil, fmt.Errorf("creating a home: %w", err)
	}
	logf, err := os.Create(filepath.Join(root, "daemon.log"))
	if err != nil {
		return nil, fmt.Errorf("creating the daemon log: %w", err)
	}
	defer logf.Close()
	// --supervised: the benchmark ends the daemon; the front must not
	// start it again.
	d.cmd = exec.Command(exe, "daemon", "--home", root, "--supervised")
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the daemon: %w", err)
	}
	go func() { _ = d.cmd.Wait(); close(d.waited) }()
	d.client = api.NewClient(d.h.Socket())
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := d.client.WaitReady(wctx); err != nil {
		d.close()
		return nil, fmt.Errorf("waiting for the daemon: %w", err)
	}
	return d, nil
}

// close stops every app, the daemon, the keeper and the front, and
// removes the home.
func (d *daemon) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if apps, err := d.client.Status(ctx, ""); err == nil {
		for _, a := range apps {
			if _, err := d.client.Control(ctx, a.Name, "stop", ""); err != nil {
				fmt.Fprintf(os.Stderr, "bench/rolling: stopping app %s: %v\n", a.Name, err)
			}
		}
	}
	d.client.Close()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.waited:
	case <-time.After(20 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.waited
	}
	for _, f := range []string{filepath.Join(d.h.KeeperDir(), "keeper.pid"), filepath.Join(d.h.RunDir(), "front", "front.pid")} {
		if pid := readPID(f); pid > 1 {
			stopPID(pid, 15*time.Second)
		}
	}
	_ = os.RemoveAll(d.h.Root)
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// stopPID SIGTERMs a process that is not our child and waits for it to go,
// killing it after grace.
func stopPID(pid int, grace time.Duration) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(grace); alive(pid); time.Sleep(20 * time.Millisecond) {
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

// rollSpec is the benchmark app: the sample agent (berth itself) with n
// instances, rolled one new instance at a time.
func rollSpec(version, listen string, n int) string {
	var b strings.Builder
	b.WriteString("version = 1\nname = \"roll\"\n\n[run]\ncommand = [\"./agent\", \"sample-agent\"]\n")
	fmt.Fprintf(&b, "env = { VERSION = %q, MODE = \"good\" }\nstop_timeout = \"5s\"\n", version)
	if os.Geteuid() == 0 {
		b.WriteString("user = \"root\"\n") // no berth-roll system user for a benchmark
	}
	fmt.Fprintf(&b, "\n[service]\nlisten = %q\n\n", listen)
	fmt.Fprintf(&b, "[deploy]\nstrategy = \"rolling\"\ninstances = %d\nmax_surge = 1\nmax_unavailable = 0\n", n)
	b.WriteString("healthy_after = 2\nverify_for = \"500ms\"\ndrain_timeout = \"5s\"\nmax_latency_rise = 0.0\n\n")
	b.WriteString("[[checks]]\nname = \"up\"\ntype = \"http\"\npath = \"/up\"\ninterval = \"100ms\"\ntimeout = \"1s\"\nretries = 3\nstart_period = \"2s\"\n")
	return b.String()
}

// deploy writes release version of the app and deploys it.
func (d *daemon) deploy(ctx context.Context, version, listen string, n int) (time.Duration, string, error) {
	dir := filepath.Join(d.h.Root, "src", version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, "", fmt.Errorf("writing release %s: %w", version, err)
	}
	spec := []byte(rollSpec(version, listen, n))
	file := filepath.Join(dir, "berth.toml")
	if err := os.WriteFile(file, spec, 0o644); err != nil {
		return 0, "", fmt.Errorf("writing release %s: %w", version, err)
	}
	if agent := filepath.Join(dir, "agent"); !exists(agent) {
		if err := copyFile(d.exe, agent); err != nil {
			return 0, "", fmt.Errorf("writing release %s: %w", version, err)
		}
	}
	dep, err := d.client.Deploy(ctx, api.DeployRequest{SpecFile: file, Spec: spec}, nil)
	return dep.EndedAt.Sub(dep.StartedAt), dep.Outcome, err
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

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

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
