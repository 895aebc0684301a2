package main

import (
	"fmt"
	"os"
	"os/exec"
)

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
