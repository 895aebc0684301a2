package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/deploy"
)

// python3 returns a Python the agents can run (their PATH is berth's short
// default, and a version manager's shim needs its own environment).
func python3(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "/usr/local/bin/python3"} {
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	t.Skip("no system python3")
	return ""
}

// httpServer is a real HTTP agent: Python's http.server on $PORT, which logs
// every request on stderr (the heartbeat check's progress).
func httpServer(t *testing.T, name, version string, listen int) app {
	return app{name: name, version: version, listen: listen, verify: "4s",
		command: []string{"/bin/sh", "-c", `exec "$0" -m http.server "$PORT" --bind 127.0.0.1`, python3(t)},
		checks: `
[[checks]]
name = "up"
type = "http"
path = "/"
interval = "200ms"
timeout = "1s"
retries = 2
start_period = "5s"

[[checks]]
name = "serving"
type = "heartbeat"
pattern = "\"GET / HTTP/1.1\" 200"
within = "5s"
interval = "500ms"
start_period = "5s"
`}
}

// berth status never calls a healthy live instance failing: not while a
// deploy runs (the monitor does not watch the app then, so status probes
// it itself), and not right after one (before the monitor ran each check).
func TestStatusShowsHealthyDuringAndAfterADeploy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	e.mustDeploy(httpServer(t, "py", "v1", port))
	e.eventually(20*time.Second, "the live instance healthy", func() error {
		if h := e.liveInstance("py").Health; h != "ok" {
			return fmt.Errorf("health %q", h)
		}
		return nil
	})

	var wg sync.WaitGroup
	var r result
	wg.Go(func() { r = e.deploy(httpServer(t, "py", "v2", port)) })
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	during := 0
	for polls := 0; polls < 400; polls++ {
		select {
		case <-done:
			polls = 400
			continue
		default:
		}
		st := e.status("py")
		if st.Deploying != "" {
			during++
		}
		for _, in := range st.Instances {
			if in.Live && in.State == "running" && in.Health != "ok" {
				t.Errorf("during the deploy (%s): live %s health %q", st.Deploying, in.Color, in.Health)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	<-done
	if r.code != 0 {
		t.Fatalf("deploy v2: %s", r)
	}
	if during == 0 {
		t.Fatal("status never ran while the deploy did")
	}
	for range 20 {
		in := e.liveInstance("py")
		if in.Health != "ok" {
			t.Fatalf("right after the deploy: live %s health %q", in.Color, in.Health)
		}
		time.Sleep(150 * time.Millisecond)
	}
	t.Logf("%d status calls during the deploy saw the live instance ok", during)
}

// An app that ignores PORT and binds a fixed port fails its gate with an
// error that says so: the port berth waited on and where the app listens.
func TestGateSaysTheAppIgnoresPort(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fixed := freePort(t)
	a := app{name: "fixed", version: "v1", listen: freePort(t), noChecks: true,
		command: []string{"/bin/sh", "-c", fmt.Sprintf(`exec "$0" -m http.server %d --bind 127.0.0.1`, fixed), python3(t)}}
	r := e.deploy(a)
	if r.code != 3 {
		t.Fatalf("deploy of an app that ignores PORT: %s, want exit 3", r)
	}
	want := fmt.Sprintf("the app listens on 127.0.0.1:%d, not on PORT=", fixed)
	if !strings.Contains(r.stdout+r.stderr, want) || !strings.Contains(r.stdout+r.stderr, "bind to $PORT") {
		t.Fatalf("deploy output does not say %q:\n%s", want, r)
	}
	if d := e.latest("fixed"); !strings.Contains(d.Reason, want) {
		t.Fatalf("history: %q, want %q", d.Reason, want)
	}
}

// A monitor restart in place (a worker's liveness heartbeat) shows in
// RESTARTS, though the runtime counts from zero again at the new start.
func TestStatusCountsMonitorRestarts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	script := `i=0; while [ $i -lt 10 ]; do i=$((i+1)); echo "beat v1"; sleep 0.1; done; exec sleep 1000`
	e.mustDeploy(app{name: "rs", version: "v1", command: []string{"/bin/sh", "-c", script}, checks: `
[[checks]]
name = "progress"
type = "heartbeat"
pattern = "^beat v1$"
within = "1s"
interval = "200ms"
start_period = "1s"
`})
	var last deploy.InstanceStatus
	e.eventually(45*time.Second, "a monitor restart counted", func() error {
		last = e.liveInstance("rs")
		if last.MonitorRestarts < 1 || last.Restarts < last.MonitorRestarts {
			return fmt.Errorf("restarts %d, by the monitor %d", last.Restarts, last.MonitorRestarts)
		}
		return nil
	})
}
