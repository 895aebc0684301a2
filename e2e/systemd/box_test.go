// Package systemd_test runs berth against real systemd: each test boots
// systemd 252 as PID 1 in systemd-nspawn on a throwaway overlay of / (the
// recipe in ../shared/recipes/README.md), with a private network, and
// tears it down whatever happens. Tests skip, with the reason, where nspawn
// cannot run (not root, no overlayfs, no systemd-container and no apt).
package systemd_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// boxSeq makes machine names unique within one test binary.
var boxSeq atomic.Int64

// Box is one booted systemd. Root is the overlay the box runs on: a file
// written under Root from the host is at the same path inside the box.
type Box struct {
	t       testing.TB
	tmp     string // tmpfs holding upper, work and root
	Root    string
	nspawn  *exec.Cmd
	done    chan error // nspawn's exit
	initPID int
	console string
}

// masked are host daemons the overlay would otherwise start inside the box.
var masked = []string{"postgresql.service", "docker.service", "docker.socket", "containerd.service",
	"exim4.service", "apt-daily.timer", "apt-daily-upgrade.timer"}

// needNspawn skips the test unless systemd-nspawn can run here, installing
// systemd-container with apt-get when it is missing.
func needNspawn(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped in -short mode: boots real systemd in systemd-nspawn")
	}
	if os.Geteuid() != 0 {
		t.Skip("SKIP real-systemd tests: systemd-nspawn needs root")
	}
	if _, err := exec.LookPath("systemd-nspawn"); err != nil {
		if _, aerr := exec.LookPath("apt-get"); aerr != nil {
			t.Skip("SKIP real-systemd tests: systemd-nspawn is not installed and apt-get is not available")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "--no-install-recommends", "systemd-container")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("SKIP real-systemd tests: installing systemd-container failed: %v\n%s", err, tail(out, 20))
		}
	}
	for _, tool := range []string{"nsenter", "systemctl", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIP real-systemd tests: %s not found", tool)
		}
	}
}

// bootBox boots systemd in nspawn and registers its teardown.
func bootBox(t testing.TB) *Box {
	t.Helper()
	needNspawn(t)
	tmp, err := os.MkdirTemp("", "berth-box-")
	if err != nil {
		t.Fatal(err)
	}
	b := &Box{t: t, tmp: tmp, Root: filepath.Join(tmp, "root"), done: make(chan error, 1)}
	t.Cleanup(b.teardown)
	if err := b.mountOverlay(); err != nil {
		t.Skipf("SKIP real-systemd tests: cannot build the overlay of /: %v", err)
	}
	if err := b.boot(); err != nil {
		t.Skipf("SKIP real-systemd tests: systemd-nspawn did not boot: %v\nconsole:\n%s", err, b.consoleTail())
	}
	return b
}

func (b *Box) mountOverlay() error {
	if err := run("mount", "-t", "tmpfs", "tmpfs", b.tmp); err != nil {
		return err
	}
	for _, d := range []string{"upper", "work", "root"} {
		if err := os.Mkdir(filepath.Join(b.tmp, d), 0o755); err != nil {
			return err
		}
	}
	opts := fmt.Sprintf("lowerdir=/,upperdir=%s/upper,workdir=%s/work", b.tmp, b.tmp)
	if err := run("mount", "-t", "overlay", "overlay", "-o", opts, b.Root); err != nil {
		return err
	}
	args := append([]string{"--root=" + b.Root, "mask", "-q"}, masked...)
	if err := run("systemctl", args...); err != nil {
		return err
	}
	if err := run("systemctl", "--root="+b.Root, "set-default", "-q", "multi-user.target"); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.Root, "etc/machine-id"), nil, 0o444)
}

func (b *Box) boot() error {
	name := fmt.Sprintf("berth-test-%d-%d", os.Getpid(), boxSeq.Add(1))
	b.console = b.tmp + ".console"
	out, err := os.Create(b.console)
	if err != nil {
		return err
	}
	defer out.Close()
	b.nspawn = exec.Command("systemd-nspawn", "-D", b.Root, "--boot", "--register=no", "--keep-unit",
		"--private-network", "-M", name, "--console=passive")
	b.nspawn.Stdout, b.nspawn.Stderr = out, out
	if err := b.nspawn.Start(); err != nil {
		return err
	}
	go func() { b.done <- b.nspawn.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for b.initPID == 0 {
		if time.Now().After(deadline) {
			return errors.New("no systemd under nspawn after 60s")
		}
		select {
		case err := <-b.done:
			b.done <- err
			return fmt.Errorf("nspawn exited: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if o, err := exec.Command("pgrep", "-P", strconv.Itoa(b.nspawn.Process.Pid), "-x", "systemd").Output(); err == nil {
			b.initPID, _ = strconv.Atoi(strings.TrimSpace(string(o)))
		}
	}
	for {
		s, _ := b.Exec(context.Background(), "systemctl", "is-system-running")
		if s = strings.TrimSpace(s); s == "running" || s == "degraded" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("system state %q after 60s", s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// teardown powers the box off (SIGTERM to nspawn), unmounts, and removes the
// cgroups nspawn leaves, as the recipe says.
func (b *Box) teardown() {
	if b.nspawn != nil && b.nspawn.Process != nil {
		_ = b.nspawn.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(60 * time.Second):
			b.t.Errorf("nspawn (pid %d) ignored SIGTERM for 60s; killing it", b.nspawn.Process.Pid)
			_ = b.nspawn.Process.Kill()
			<-b.done
		}
	}
	for _, m := range []string{b.Root, b.tmp} {
		if err := syscall.Unmount(m, 0); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			b.t.Errorf("unmounting %s: %v", m, err)
		}
	}
	for _, h := range []string{"systemd", "unified"} {
		for _, d := range []string{"payload", "supervisor"} {
			removeEmptyCgroups(filepath.Join("/sys/fs/cgroup", h, d))
		}
	}
	_ = os.Remove(b.tmp)
	_ = os.Remove(b.console)
}

// removeEmptyCgroups removes a cgroup tree depth first; a cgroup that still
// has processes refuses rmdir and stays.
func removeEmptyCgroups(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			removeEmptyCgroups(filepath.Join(dir, e.Name()))
		}
	}
	_ = syscall.Rmdir(dir)
}

// Exec runs a command inside the box and returns its combined output.
func (b *Box) Exec(ctx context.Context, args ...string) (string, error) {
	return b.ExecEnv(ctx, nil, args...)
}

// ExecEnv is Exec with extra environment variables.
func (b *Box) ExecEnv(ctx context.Context, env []string, args ...string) (string, error) {
	full := append([]string{"-t", strconv.Itoa(b.initPID), "-a"}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", full...)
	cmd.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("in box: %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), err
}

// Must is Exec that fails the test on error.
func (b *Box) Must(args ...string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := b.Exec(ctx, args...)
	if err != nil {
		b.t.Fatal(err)
	}
	return out
}

// Install copies a host file into the box at path with mode.
func (b *Box) Install(src, path string, mode os.FileMode) {
	b.t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		b.t.Fatal(err)
	}
	b.WriteFile(path, data, mode)
}

// WriteFile writes a file inside the box.
func (b *Box) WriteFile(path string, data []byte, mode os.FileMode) {
	b.t.Helper()
	dst := filepath.Join(b.Root, path)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		b.t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		b.t.Fatal(err)
	}
}

func (b *Box) consoleTail() string {
	data, _ := os.ReadFile(b.console)
	return tail(data, 30)
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
