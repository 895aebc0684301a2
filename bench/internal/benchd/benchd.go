// Package benchd runs a berth daemon for the benchmarks under bench/: it
// builds berth, starts a daemon in a temporary home, and ends everything the
// daemon started (apps through the API, then the daemon, the keeper and the
// front by PID) when the benchmark is done.
package benchd

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

// Build compiles berth into dir and returns the binary's path. It runs
// from the repository root.
func Build(ctx context.Context, dir string) (string, error) {
	// A root daemon runs its front as the user berth_front, which must
	// reach the binary: MkdirTemp's 0700 would stop it.
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	exe := filepath.Join(dir, "berth")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", exe, "./cmd/berth").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building berth (run from the repository root): %w: %s", err, out)
	}
	return exe, nil
}

// Daemon is one berth daemon in its own temporary home.
type Daemon struct {
	Exe    string      // the berth binary
	Home   home.Layout // the daemon's home, removed by Close
	Client *api.Client // the daemon's control API

	name   string // the benchmark's name, in messages
	cmd    *exec.Cmd
	waited chan struct{}
}

// Start starts a daemon of exe in a new temporary home and waits until it
// answers. name (the benchmark's) prefixes the home and messages. The
// daemon runs --supervised: the benchmark ends it, and the front must not
// start it again.
func Start(ctx context.Context, exe, name string) (*Daemon, error) {
	// Short: the control socket's path must fit in 108 bytes.
	root, err := os.MkdirTemp("", "b"+name+"-")
	if err != nil {
		return nil, fmt.Errorf("creating a home: %w", err)
	}
	d := &Daemon{Exe: exe, Home: home.Layout{Root: root}, name: name, waited: make(chan struct{})}
	if err := d.Home.Create(); err != nil {
		return nil, fmt.Errorf("creating a home: %w", err)
	}
	logf, err := os.Create(filepath.Join(root, "daemon.log"))
	if err != nil {
		return nil, fmt.Errorf("creating the daemon's log: %w", err)
	}
	defer logf.Close()
	d.cmd = exec.Command(exe, "daemon", "--home", root, "--supervised")
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the daemon: %w", err)
	}
	go func() { _ = d.cmd.Wait(); close(d.waited) }()
	d.Client = api.NewClient(d.Home.Socket())
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := d.Client.WaitReady(wctx); err != nil {
		log, _ := os.ReadFile(logf.Name())
		d.Close()
		return nil, fmt.Errorf("waiting for the daemon: %w; its log:\n%s", err, log)
	}
	return d, nil
}

// PID is the daemon's process id.
func (d *Daemon) PID() int { return d.cmd.Process.Pid }

// KeeperPID is the keeper's process id from its pid file; 0 when none.
func (d *Daemon) KeeperPID() int { return ReadPID(filepath.Join(d.Home.KeeperDir(), "keeper.pid")) }

// FrontPID is the front's process id from its pid file; 0 when none.
func (d *Daemon) FrontPID() int { return ReadPID(filepath.Join(d.Home.RunDir(), "front", "front.pid")) }

// Close stops every app through the API, SIGTERMs the daemon, ends the
// keeper and the front by PID and removes the home. It reports what it
// had to kill and agents the keeper still had.
func (d *Daemon) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	keeper, front := d.KeeperPID(), d.FrontPID()
	if apps, err := d.Client.Status(ctx, ""); err == nil {
		for _, a := range apps {
			if _, err := d.Client.Control(ctx, a.Name, "stop", ""); err != nil {
				d.logf("stopping app %s: %v", a.Name, err)
			}
		}
	}
	d.Client.Close()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.waited:
	case <-time.After(20 * time.Second):
		d.logf("daemon %d ignored SIGTERM for 20s; killing it", d.PID())
		_ = d.cmd.Process.Kill()
		<-d.waited
	}
	if keeper == 0 {
		keeper = d.KeeperPID()
	}
	if front == 0 {
		front = d.FrontPID()
	}
	if keeper > 1 {
		for _, c := range children(keeper) {
			d.logf("keeper %d still had child %d after the apps were stopped", keeper, c)
		}
		d.stopPID(keeper, 15*time.Second)
	}
	if front > 1 {
		d.stopPID(front, 15*time.Second)
	}
	_ = os.RemoveAll(d.Home.Root)
}

func (d *Daemon) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/"+d.name+": "+format+"\n", args...)
}

// stopPID SIGTERMs a process that is not our child and waits for it to go,
// killing it after grace.
func (d *Daemon) stopPID(pid int, grace time.Duration) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(grace); Alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			d.logf("pid %d ignored SIGTERM; killing it", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return
		}
	}
}

// ReadPID reads a pid file; 0 when it is missing or unreadable.
func ReadPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// Alive is true while pid exists and is not a zombie.
func Alive(pid int) bool {
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

// CopyFile copies src to dst as an executable (the agent of a release).
func CopyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return out.Close()
}

// FreeAddr is a loopback address with a port free at the time of asking.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
