package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// nginxConf is a stock nginx configuration as a user would write it for
// berth: port and paths are filled in by start.sh from the instance's
// environment; logs go to the inherited stdout/stderr, opened by path.
const nginxConf = `pid @RUN@/nginx.pid;
error_log /dev/stderr info;
worker_processes 1;
events { worker_connections 256; }
http {
    access_log /dev/stdout;
    client_body_temp_path @RUN@/body;
    proxy_temp_path @RUN@/proxy;
    fastcgi_temp_path @RUN@/fastcgi;
    uwsgi_temp_path @RUN@/uwsgi;
    scgi_temp_path @RUN@/scgi;
    server {
        listen 127.0.0.1:@PORT@;
        root @ROOT@/www;
        location = /up { return 200 "ok\n"; }
    }
}
`

// nginxStart renders the configuration for this instance and runs nginx
// in the foreground.
const nginxStart = `#!/bin/sh
set -e
run="$BERTH_SHARED/nginx-$BERTH_COLOR"
mkdir -p "$run"
sed -e "s|@PORT@|$PORT|" -e "s|@RUN@|$run|g" -e "s|@ROOT@|$PWD|" nginx.conf > "$run/nginx.conf"
exec nginx -e /dev/stderr -p "$run" -c "$run/nginx.conf" -g 'daemon off;'
`

// TestNginxBlueGreen deploys stock nginx, running as the app's own user,
// twice under load: both deploys go live with no failed request, and
// nginx's access and error logs reach berth logs.
func TestNginxBlueGreen(t *testing.T) {
	t.Parallel()
	needBinary(t, "nginx")
	name := ownUser(t, "ngx")
	e := newEnv(t)
	port := freePort(t)
	spec := func(version string) map[string]string {
		return map[string]string{
			"berth.toml": fmt.Sprintf(`version = 1
name = %q

[run]
command = ["./start.sh"]
stop_timeout = "5s"

[service]
listen = "127.0.0.1:%d"

[deploy]
verify_for = "2s"
drain_timeout = "5s"
max_latency_rise = 0.0

[[checks]]
name = "up"
type = "http"
path = "/up"
interval = "200ms"
timeout = "1s"
start_period = "5s"
`, name, port),
			"nginx.conf":     nginxConf,
			"start.sh":       nginxStart,
			"www/index.html": "hello from nginx " + version + "\n",
		}
	}
	e.deployFile(name, e.release(name, "v1", spec("v1")))
	e.waitAnswer(port, "hello from nginx v1")
	ld := startLoad(port, 4)
	defer ld.stop()
	e.deployFile(name, e.release(name, "v2", spec("v2")))
	e.waitAnswer(port, "hello from nginx v2")
	ld.stop()
	t.Logf("load across the deploy: %d requests, %d failed; bodies %v", ld.sent.Load(), ld.failed.Load(), ld.bodies)
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed across the nginx deploy; first: %v", f, ld.sent.Load(), ld.errs())
	}
	live := e.liveInstance(name)
	uid := ""
	for _, l := range readLines(fmt.Sprintf("/proc/%d/status", live.PID)) {
		if f, ok := strings.CutPrefix(l, "Uid:"); ok {
			uid = strings.Fields(f)[0]
		}
	}
	if uid == "" || uid == "0" {
		t.Errorf("nginx runs as uid %q, want its own user", uid)
	}
	if out := e.berth("logs", name, "-n", "20", "--stream", "out").stdout; !strings.Contains(out, `"GET / HTTP/1.1" 200`) {
		t.Errorf("nginx's access log (/dev/stdout) is not in berth logs:\n%s", out)
	}
	if errs := e.berth("logs", name, "-n", "50", "--stream", "err").stdout; !strings.Contains(errs, "start worker process") {
		t.Errorf("nginx's error log (/dev/stderr) is not in berth logs:\n%s", errs)
	}
}
