package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dockerd is a Docker engine the test started under a temporary directory,
// with its own socket, data root and exec root: never the machine's
// default one, which other tests or people may use.
type dockerd struct {
	t   *testing.T
	dir string
	env []string // DOCKER_HOST and DOCKER_CONFIG for every docker command
}

// startDockerd starts a dockerd of the test's own (no default bridge, no
// iptables rules: it shares the machine with other engines) and registers
// its teardown by PID. It skips when docker.io is not installed.
func startDockerd(t *testing.T) *dockerd {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("dockerd needs root")
	}
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		t.Skip("dockerd is not installed (.ci/run installs docker.io)")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("the docker CLI is not installed (.ci/run installs docker.io)")
	}
	dir, err := os.MkdirTemp("", "bdk-") // short: the socket path must stay under 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	d := &dockerd{t: t, dir: dir, env: append(os.Environ(),
		"DOCKER_HOST=unix://"+filepath.Join(dir, "docker.sock"), "DOCKER_CONFIG="+filepath.Join(dir, "config"), "DOCKER_BUILDKIT=0")}
	log, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-H", "unix://"+filepath.Join(dir, "docker.sock"),
		"--data-root", filepath.Join(dir, "data"), "--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"), "--bridge=none", "--iptables=false")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dockerd: %v", err)
	}
	waited := make(chan struct{})
	go func() { cmd.Wait(); log.Close(); close(waited) }()
	t.Cleanup(func() { d.stop(cmd.Process.Pid, waited) })
	for i := 0; ; i++ {
		if _, err := d.run(5*time.Second, "version", "--format", "{{.Server.Version}}"); err == nil {
			return d
		}
		select {
		case <-waited:
			t.Fatalf("dockerd exited at start:\n%s", d.log())
		case <-time.After(200 * time.Millisecond):
		}
		if i == 150 {
			t.Fatalf("dockerd did not answer within 30s:\n%s", d.log())
		}
	}
}

// stop ends the engine by its PID (SIGTERM stops its containers, then
// SIGKILL after 30s) and removes its directory.
func (d *dockerd) stop(pid int, waited chan struct{}) {
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		d.t.Logf("dockerd %d did not stop within 30s: SIGKILL", pid)
		syscall.Kill(pid, syscall.SIGKILL)
		<-waited
	}
	if d.t.Failed() {
		d.t.Logf("dockerd log:\n%s", d.log())
	}
	os.RemoveAll(d.dir)
}

func (d *dockerd) log() string {
	b, _ := os.ReadFile(filepath.Join(d.dir, "dockerd.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// run runs the docker CLI against this engine within limit and returns
// its stdout.
func (d *dockerd) run(limit time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = d.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// must is run, failing the test on error.
func (d *dockerd) must(args ...string) string {
	d.t.Helper()
	out, err := d.run(2*time.Minute, args...)
	if err != nil {
		d.t.Fatal(err)
	}
	return out
}

// buildAgentImage builds testdata/swarmagent statically and makes it the
// image tag, FROM scratch: no registry is reachable.
func (d *dockerd) buildAgentImage(tag string) {
	d.t.Helper()
	ctxDir := filepath.Join(d.dir, "image")
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		d.t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(ctxDir, "agent"), "./testdata/swarmagent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		d.t.Fatalf("building the agent: %v\n%s", err, out)
	}
	dockerfile := "FROM scratch\nCOPY agent /agent\nENTRYPOINT [\"/agent\"]\n"
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		d.t.Fatal(err)
	}
	d.must("build", "-q", "-t", tag, ctxDir)
}
