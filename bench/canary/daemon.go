package main

import (
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

// daemon is one berth daemon in a temporary home, started and stopped by
// the benchmark: apps through the API, the daemon and then the keeper by
// PID.
type daemon struct {
	exe    string
	h      home.Layout
	cmd    *exec.Cmd
	client *api.Client
	waited chan struct{}
}

func build(ctx context.Context, dir string) (string, error) {
	exe := filepath.Join(dir, "berth")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", exe, "./cmd/berth").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building berth (run from the repository root): %w: %s", err, out)
	}
	return exe, nil
}

func startDaemon(ctx context.Context, exe string) (*daemon, error) {
	root, err := os.MkdirTemp("", "bcanary-") // short: the socket path must fit in 108 bytes
	if err != nil {
		return nil, fmt.Errorf("creating a home: %w", err)
	}
	d := &daemon{exe: exe, h: home.Layout{Root: root}, waited: make(chan struct{})}
	if err := d.h.Create(); err != nil {
		return nil, fmt.Errorf("creating a home: %w", err)
	}
	logf, err := os.Create(filepath.Join(root, "daemon.log"))
	if err != nil {
		return nil, fmt.Errorf("creating the daemon's log: %w", err)
	}
	defer logf.Close()
	d.cmd = exec.Command(exe, "daemon", "--home", root)
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

// close stops every app, then the daemon (SIGTERM) and the keeper (by the
// PID in keeper.pid), and removes the home.
func (d *daemon) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	keeper := d.keeperPID()
	if apps, err := d.client.Status(ctx, ""); err == nil {
		for _, a := range apps {
			if _, err := d.client.Control(ctx, a.Name, "stop", ""); err != nil {
				fmt.Fprintf(os.Stderr, "bench/canary: stopping app %s: %v\n", a.Name, err)
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
	if keeper == 0 {
		keeper = d.keeperPID()
	}
	if keeper > 0 {
		_ = syscall.Kill(keeper, syscall.SIGTERM)
		for end := time.Now().Add(15 * time.Second); processExists(keeper) && time.Now().Before(end); {
			time.Sleep(20 * time.Millisecond)
		}
	}
	_ = os.RemoveAll(d.h.Root)
}

func (d *daemon) keeperPID() int {
	b, err := os.ReadFile(filepath.Join(d.h.KeeperDir(), "keeper.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// processExists is true while pid exists and is not a zombie.
func processExists(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || len(s) < i+3 || s[i+2] != 'Z'
}

// release writes a release directory (spec and agent: berth itself, whose
// hidden sample-agent command is the agent) and returns the spec's path.
func (d *daemon) release(name, version, spec string) (string, error) {
	dir := filepath.Join(d.h.Root, "src", name, version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating a release: %w", err)
	}
	file := filepath.Join(dir, "berth.toml")
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		return "", fmt.Errorf("writing a spec: %w", err)
	}
	return file, copyFile(d.exe, filepath.Join(dir, "agent"))
}

// deploy deploys the release at file; a deploy that ran and did not go
// live is not an error here: the caller reads its record.
func (d *daemon) deploy(ctx context.Context, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	_, err = d.client.Deploy(ctx, api.DeployRequest{SpecFile: file, Spec: data}, nil)
	return err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copying the agent: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return fmt.Errorf("copying the agent: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying the agent: %w", err)
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
