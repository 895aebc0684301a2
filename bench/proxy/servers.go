package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// server is one process the benchmark started and must stop by its PID.
type server struct {
	name string
	cmd  *exec.Cmd
}

func start(dir, name string, args ...string) (*server, error) {
	cmd := exec.Command(args[0], args[1:]...)
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, fmt.Errorf("creating %s log: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group, so nginx's workers go with their master.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	return &server{name: name, cmd: cmd}, nil
}

// stop asks politely, then kills the process group we created.
func (s *server) stop() {
	pid := s.cmd.Process.Pid
	syscall.Kill(pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-done
	}
	syscall.Kill(-pid, syscall.SIGKILL) // leftovers of the group, if any
}

// haproxyConfig proxies listen to backend with connection reuse and the
// same X-Forwarded fields as berth and the nginx set-up.
func haproxyConfig(listen, backend string) string {
	return fmt.Sprintf(`global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    http-reuse always
frontend front
    bind %s
    default_backend app
backend app
    option forwardfor
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Forwarded-Host %%[req.hdr(host)]
    server app1 %s maxconn 1000
`, listen, backend)
}

// ensureTools installs wrk, nginx and haproxy with apt-get when missing.
func ensureTools() error {
	var missing bool
	for _, bin := range []string{"wrk", "nginx", "haproxy"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	fmt.Println("installing wrk, nginx-light and haproxy with apt-get ...")
	cmd := exec.Command("apt-get", "install", "-y", "wrk", "nginx-light", "haproxy")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("installing load tools: %w", err)
	}
	return nil
}
