package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/bench/proxy/peers"
)

// skipped is the row of an anchor whose binary is absent.
func skipped(name, bin string) run {
	return run{name: name, skipped: fmt.Sprintf("skipped: %s is not installed (apt-get install -y %s)", bin, map[string]string{"nginx": "nginx-light", "haproxy": "haproxy"}[bin])}
}

// nginxReloads runs nginx in front of backend and `nginx -s reload` n
// times under load.
func nginxReloads(ctx context.Context, dir, backend string, n int, gap time.Duration) (run, error) {
	const name = "nginx: `nginx -s reload`"
	bin, err := exec.LookPath("nginx")
	if err != nil {
		return skipped(name, "nginx"), nil
	}
	listen, err := peers.FreePort()
	if err != nil {
		return run{}, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(peers.NginxConfig(dir, listen, backend)), 0o644); err != nil {
		return run{}, err
	}
	p, err := peers.Start(dir, "nginx", "http://"+listen+"/", "", []string{bin, "-c", conf, "-e", filepath.Join(dir, "nginx-error.log")})
	if err != nil {
		return run{}, err
	}
	defer p.Stop()
	if err := peers.WaitReady(ctx, p.URL); err != nil {
		return run{}, err
	}
	return underLoad(name, "graceful reload: new workers, old ones finish their requests", p.URL, n, gap, func(int) error {
		out, err := exec.CommandContext(ctx, bin, "-c", conf, "-e", filepath.Join(dir, "nginx-error.log"), "-s", "reload").CombinedOutput()
		if err != nil {
			return fmt.Errorf("nginx -s reload: %w: %s", err, out)
		}
		return nil
	})
}

// haproxyConfig is a master-worker HAProxy in front of backend whose
// stats socket exposes the listeners, so a reload passes them to the new
// worker instead of binding again.
func haproxyConfig(dir, listen, backend string) string {
	return fmt.Sprintf(`global
    master-worker
    pidfile %[1]s/haproxy.pid
    stats socket %[1]s/admin.sock mode 600 level admin expose-fd listeners
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
frontend web
    bind %[2]s
    default_backend app
backend app
    http-reuse always
    server s1 %[3]s
`, dir, listen, backend)
}

// haproxyReloads runs HAProxy in master-worker mode and reloads it n
// times with SIGUSR2 to the master under load.
func haproxyReloads(ctx context.Context, dir, backend string, n int, gap time.Duration) (run, error) {
	const name = "HAProxy: reload, `expose-fd listeners`"
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		return skipped(name, "haproxy"), nil
	}
	listen, err := peers.FreePort()
	if err != nil {
		return run{}, err
	}
	conf := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(conf, []byte(haproxyConfig(dir, listen, backend)), 0o644); err != nil {
		return run{}, err
	}
	p, err := peers.Start(dir, "haproxy", "http://"+listen+"/", "", []string{bin, "-W", "-db", "-f", conf})
	if err != nil {
		return run{}, err
	}
	defer p.Stop()
	if err := peers.WaitReady(ctx, p.URL); err != nil {
		return run{}, err
	}
	return underLoad(name, "master-worker, SIGUSR2 to the master: the new worker gets the listeners over the stats socket", p.URL, n, gap, func(int) error {
		data, err := os.ReadFile(filepath.Join(dir, "haproxy.pid"))
		if err != nil {
			return fmt.Errorf("reading the master's pid: %w", err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0]))
		if err != nil {
			return fmt.Errorf("reading the master's pid: %w", err)
		}
		return syscall.Kill(pid, syscall.SIGUSR2)
	})
}
