// Package peers holds what the proxy benchmarks share about the processes
// they run next to berth: the nginx set-up berth is compared against (the
// same in every tool, so their numbers stay comparable), free ports, and
// waiting for a server to answer.
package peers

import "fmt"

// NginxConfig is an nginx.conf that runs in the foreground with its files under
// dir, listens on listen and proxies to backend with upstream keep-alive
// (64 idle connections, HTTP/1.1) and no access log. It passes the client's
// Host and adds the X-Forwarded-For, -Proto and -Host fields berth adds, as
// a production reverse-proxy set-up does: the backend then parses the same
// request behind either proxy.
func NginxConfig(dir, listen, backend string) string {
	return fmt.Sprintf(`daemon off;
worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    upstream app {
        server %[3]s;
        keepalive 64;
    }
    server {
        listen %[2]s;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
        }
    }
}
`, dir, listen, backend)
}
