package main

import (
	"bytes"
	"context"
	"errors"
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
	"github.com/berth-dev/berth/internal/state"
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

// daemon is one berth daemon in its own temporary home, started by the
// benchmark and stopped by it (apps via the API, then the daemon by PID,
// then the keeper by the PID in keeper.pid).
type daemon struct {
	exe    string
	h      home.Layout
	cmd    *exec.Cmd
	client *api.Client
	waited chan struct{}
}

func startDaemon(ctx context.Context, exe string) (*daemon, error) {
	// Short path: the control socket's path must fit in 108 bytes.
	root, err := os.MkdirTemp("", "bbench-")
	if err != nil {
		return nil, fmt.Errorf("creating a home: %w", err)
	}
	d := &daemon{exe: exe, h: home.Layout{Root: root}, waited: make(chan struct{})}
	if err := d.h.Create(); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(root, "daemon.log"))
	if err != nil {
		return nil, err
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
		return nil, err
	}
	return d, nil
}

// keeperPID reads the keeper's pid file; 0 when there is none.
func (d *daemon) keeperPID() int {
	b, err := os.ReadFile(filepath.Join(d.h.KeeperDir(), "keeper.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// close stops every app through the API, SIGTERMs the daemon, ends the
// keeper and removes the home. It reports processes it had to kill.
func (d *daemon) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	keeper := d.keeperPID()
	if apps, err := d.client.Status(ctx, ""); err == nil {
		for _, a := range apps {
			if _, err := d.client.Control(ctx, a.Name, "stop", ""); err != nil {
				fmt.Fprintf(os.Stderr, "bench/deploy: stopping app %s: %v\n", a.Name, err)
			}
		}
	}
	d.client.Close()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.waited:
	case <-time.After(20 * time.Second):
		fmt.Fprintf(os.Stderr, "bench/deploy: daemon %d ignored SIGTERM for 20s; killing it\n", d.cmd.Process.Pid)
		_ = d.cmd.Process.Kill()
		<-d.waited
	}
	if keeper == 0 {
		keeper = d.keeperPID()
	}
	if keeper > 0 {
		for _, c := range children(keeper) {
			fmt.Fprintf(os.Stderr, "bench/deploy: keeper %d still had child %d after the apps were stopped\n", keeper, c)
		}
		stopPID(keeper, 15*time.Second)
	}
	_ = os.RemoveAll(d.h.Root)
}

// stopPID SIGTERMs a process that is not our child and waits for it to go,
// killing it after grace.
func stopPID(pid int, grace time.Duration) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for alive(pid) {
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "bench/deploy: pid %d ignored SIGTERM; killing it\n", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return
		}
		time.Sleep(20 * time.Millisecond)
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

// children lists pid's direct children.
func children(pid int) []int {
	p := strconv.Itoa(pid)
	b, _ := os.ReadFile("/proc/" + p + "/task/" + p + "/children")
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// appSpec is one benchmark app's berth.toml.
type appSpec struct {
	name, version, strategy string
	listen                  string
	healthyAfter            int
	verifyFor, interval     string
	drainTimeout, keepWarm  string
	stopTimeout             string
}

func (s appSpec) toml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "version = 1\nname = %q\n\n[run]\ncommand = [\"./agent\", \"sample-agent\"]\n", s.name)
	fmt.Fprintf(&b, "env = { VERSION = %q, MODE = \"good\" }\n", s.version)
	if os.Geteuid() == 0 {
		// Run as root rather than have berth create a berth-<name> user per app.
		b.WriteString("user = \"root\"\n")
	}
	fmt.Fprintf(&b, "stop_timeout = %q\n\n[service]\nlisten = %q\n\n", or(s.stopTimeout, "5s"), s.listen)
	fmt.Fprintf(&b, "[deploy]\nstrategy = %q\nhealthy_after = %d\nverify_for = %q\ndrain_timeout = %q\nkeep_warm = %q\n\n",
		s.strategy, s.healthyAfter, s.verifyFor, or(s.drainTimeout, "5s"), or(s.keepWarm, "until-next-deploy"))
	fmt.Fprintf(&b, "[[checks]]\nname = \"up\"\ntype = \"http\"\npath = \"/up\"\ninterval = %q\ntimeout = \"1s\"\nretries = 3\nstart_period = \"2s\"\n", s.interval)
	return b.String()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// writeRelease makes a release directory holding the spec and the agent
// (berth itself, whose hidden sample-agent command is the agent) and
// returns the spec's path.
func (d *daemon) writeRelease(s appSpec) (string, error) {
	dir := filepath.Join(d.h.Root, "src", s.name, s.version+"-"+s.strategy)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	specFile := filepath.Join(dir, "berth.toml")
	if err := os.WriteFile(specFile, []byte(s.toml()), 0o644); err != nil {
		return "", err
	}
	agent := filepath.Join(dir, "agent")
	if _, err := os.Stat(agent); err == nil {
		return specFile, nil
	}
	return specFile, copyFile(d.exe, agent)
}

// deploy writes the release of s and deploys it through the API client.
func (d *daemon) deploy(ctx context.Context, s appSpec) (state.Deployment, error) {
	specFile, err := d.writeRelease(s)
	if err != nil {
		return state.Deployment{}, err
	}
	data, err := os.ReadFile(specFile)
	if err != nil {
		return state.Deployment{}, err
	}
	return d.client.Deploy(ctx, api.DeployRequest{SpecFile: specFile, Spec: data}, nil)
}

// failed says whether err is a deploy that ran and did not go live (as
// opposed to a broken benchmark).
func failed(err error) bool {
	var ae *api.Error
	return errors.As(err, &ae) && ae.Code == api.CodeFailed
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

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
