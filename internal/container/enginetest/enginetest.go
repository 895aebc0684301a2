// Package enginetest starts a real container engine for tests: a dockerd of
// the test's own (its socket, data and exec roots under a temporary
// directory), or Podman's API service, and builds FROM scratch images of
// static Go programs. Nothing here reaches a registry.
package enginetest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Engine is one running engine. Stop ends it by its PID.
type Engine struct {
	Name string // "docker" or "podman"
	Host string // unix://... for the client
	Dir  string
	cmd  *exec.Cmd
	env  []string

	bridge string   // docker: the bridge made for it, deleted at Stop
	lock   *os.File // podman: the host-wide lock, released at Stop
}

// Docker starts dockerd under dir, or returns why it cannot (the binary is
// absent: the caller skips).
func Docker(dir string) (*Engine, error) {
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		return nil, fmt.Errorf("dockerd not installed (apt-get install docker.io): %w", err)
	}
	// A bridge of its own: dockerds sharing docker0 hand out the same
	// addresses, and one's containers then answer for another's published
	// ports. Without iptables: loopback publishing goes through docker's
	// userland proxy, and another dockerd's start flushes the shared chains.
	bridge, err := newBridge()
	if err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "docker.sock")
	cmd := exec.Command(bin, "-H", "unix://"+sock, "--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"), "--pidfile", filepath.Join(dir, "docker.pid"),
		"--bridge", bridge, "--iptables=false", "--ip-masq=false")
	e, err := start("docker", dir, sock, cmd, nil)
	if err != nil {
		delBridge(bridge)
		return nil, err
	}
	e.bridge = bridge
	return e, nil
}

// newBridge makes a Linux bridge with a /24 of 10.0.0.0/8 that no
// interface of the host uses.
func newBridge() (string, error) {
	addrs, err := exec.Command("ip", "-br", "addr").Output()
	if err != nil {
		return "", fmt.Errorf("listing addresses (ip from iproute2): %w", err)
	}
	seed := os.Getpid() + int(time.Now().UnixNano()%100000)
	for i := range 200 {
		n := seed + i*7919
		a, b := 200+n%50, n/50%250+1
		subnet := fmt.Sprintf("10.%d.%d.", a, b)
		if strings.Contains(string(addrs), subnet) {
			continue
		}
		name := fmt.Sprintf("bt%d", n%1000000)
		for _, args := range [][]string{
			{"link", "add", name, "type", "bridge"},
			{"addr", "add", subnet + "1/24", "dev", name},
			{"link", "set", name, "up"},
		} {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				delBridge(name)
				return "", fmt.Errorf("ip %v: %w: %s", args, err, out)
			}
		}
		return name, nil
	}
	return "", fmt.Errorf("no free 10.x.y.0/24 for a bridge")
}

func delBridge(name string) { _ = exec.Command("ip", "link", "del", name).Run() }

// Podman starts `podman system service` under dir with the configuration
// this VM needs (cgroupfs, file events, ulimits), or returns why not.
func Podman(dir string) (*Engine, error) {
	bin, err := exec.LookPath("podman")
	if err != nil {
		return nil, fmt.Errorf("podman not installed (apt-get install podman): %w", err)
	}
	conf := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(conf, []byte(`[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
exit_command_delay = 5
`), 0o644); err != nil {
		return nil, err
	}
	// Podman's services all put containers on the same podman0 bridge
	// and hand out the same addresses: one at a time on this host.
	lock, err := hostLock("podman")
	if err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "podman.sock")
	env := append(os.Environ(), "CONTAINERS_CONF="+conf)
	cmd := exec.Command(bin, "--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
		"system", "service", "--time=0", "unix://"+sock)
	cmd.Env = env
	e, err := start("podman", dir, sock, cmd, env)
	if err != nil {
		lock.Close()
		return nil, err
	}
	e.lock = lock
	return e, nil
}

// hostLock takes an exclusive lock shared by every test process of the
// host, waiting at most 10 minutes.
func hostLock(name string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "berth-enginetest-"+name+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for range 6000 {
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			return f, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	f.Close()
	return nil, fmt.Errorf("another test process has held the %s lock for 10 minutes", name)
}

func start(name, dir, sock string, cmd *exec.Cmd, env []string) (*Engine, error) {
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	e := &Engine{Name: name, Host: "unix://" + sock, Dir: dir, cmd: cmd, env: env}
	for range 300 {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return e, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.Stop()
	log, _ := os.ReadFile(filepath.Join(dir, name+".log"))
	return nil, fmt.Errorf("%s did not answer on %s within 15s: %s", name, sock, lastBytes(log, 2000))
}

// Stop ends the engine (SIGTERM, then SIGKILL) and waits for it.
func (e *Engine) Stop() {
	if e.cmd.Process == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = e.cmd.Process.Kill()
		<-done
	}
	unmountUnder(e.Dir)
	if e.bridge != "" {
		delBridge(e.bridge)
	}
	if e.lock != nil {
		e.lock.Close()
	}
}

// unmountUnder detaches every mount below dir, deepest first: Podman
// leaves its storage mounted when its service ends, and an engine that
// died leaves network namespaces bound under its exec root (whose veth
// would keep a container address on the bridge taken).
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return
	}
	var ms []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			ms = append(ms, f[1])
		}
	}
	for i := len(ms) - 1; i >= 0; i-- {
		_ = syscall.Unmount(ms[i], syscall.MNT_DETACH)
	}
}

// CLI runs the engine's own CLI against it (tests only: to make images
// and to look at what berth made, never inside berth).
func (e *Engine) CLI(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	var cmd *exec.Cmd
	if e.Name == "podman" {
		cmd = exec.CommandContext(ctx, "podman", append([]string{"--root", filepath.Join(e.Dir, "root"), "--runroot", filepath.Join(e.Dir, "run")}, args...)...)
		cmd.Env = e.env
	} else {
		cmd = exec.CommandContext(ctx, "docker", append([]string{"-H", e.Host}, args...)...)
	}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %v: %w: %s", e.Name, args, err, lastBytes(out, 2000))
	}
	return out, nil
}

// BuildAgentImage is BuildImage for tests: it fails t on an error.
func (e *Engine) BuildAgentImage(t testing.TB, pkg, tag, user string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := e.BuildImage(ctx, t.TempDir(), pkg, tag, user); err != nil {
		t.Fatal(err)
	}
}

// BuildImage builds the Go package pkg statically (CGO_ENABLED=0) in dir
// and makes the image tag of it: FROM scratch, the binary as /agent, the
// ENTRYPOINT /agent, USER user ("" = none, so root).
func (e *Engine) BuildImage(ctx context.Context, dir, pkg, tag, user string) error {
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "agent"), pkg)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %w\n%s", pkg, err, out)
	}
	df := "FROM scratch\nCOPY agent /agent\nENTRYPOINT [\"/agent\"]\n"
	if user != "" {
		df += "USER " + user + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return err
	}
	_, err := e.CLI(ctx, nil, "build", "-q", "-t", tag, dir)
	return err
}

func lastBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
