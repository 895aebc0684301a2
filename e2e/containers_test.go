package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/berth-dev/berth/internal/container/enginetest"
	"github.com/berth-dev/berth/internal/deploy"
)

// startEngine starts an engine of the test's own (stopped at the end, with
// its containers) and points the daemons the test starts at it. Skipped
// when the engine's binaries are absent, failed in CI.
func startEngine(t *testing.T, name string) *enginetest.Engine {
	t.Helper()
	dir, err := os.MkdirTemp("", "be2e-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	var eng *enginetest.Engine
	if name == "podman" {
		eng, err = enginetest.Podman(dir)
	} else {
		eng, err = enginetest.Docker(dir)
	}
	if err != nil {
		os.RemoveAll(dir)
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("skipping: %v", err)
	}
	t.Cleanup(func() { eng.Stop(); os.RemoveAll(dir) })
	if name == "podman" {
		t.Setenv("CONTAINER_HOST", eng.Host)
	} else {
		t.Setenv("DOCKER_HOST", eng.Host)
	}
	eng.BuildAgentImage(t, "github.com/berth-dev/berth/internal/container/testdata/agent", "berth-e2e-agent:1", "")
	return eng
}

// containerSpec is the berth.toml of a container app serving on listen.
func containerSpec(engine, name, version, mode string, listen, instances int, strategy string) string {
	return fmt.Sprintf(`version = 1
name = %q

[run]
runtime = %q
image = "berth-e2e-agent:1"
env = { VERSION = %q, MODE = %q, HOST = "0.0.0.0" }
memory = "64MiB"
cpus = 0.5
pids = 64
stop_timeout = "3s"

[service]
listen = "127.0.0.1:%d"

[deploy]
strategy = %q
instances = %d
healthy_after = 2
verify_for = "1s"
drain_timeout = "5s"
max_latency_rise = 0.0

[[checks]]
name = "up"
type = "http"
path = "/up"
interval = "200ms"
timeout = "1s"
retries = 2
start_period = "2s"

[[checks]]
name = "inside"
type = "exec"
command = ["/agent", "selftest"]
interval = "1s"
timeout = "3s"
role = "liveness"
`, name, engine, version, mode, listen, strategy, instances)
}

func (e *env) deploySpec(name, version, text string) result {
	e.t.Helper()
	dir := filepath.Join(e.home, "src", name+"-"+version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	p := filepath.Join(dir, "berth.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.apps[name] = true
	e.mu.Unlock()
	return e.berth("deploy", "-f", p)
}

// TestContainerDeploysUnderLoad: blue-green then rolling deploys of a
// docker app under load fail no request; a never-healthy image is refused
// with the live version serving; a daemon killed with SIGKILL comes back
// and re-adopts the running containers.
func TestContainerDeploysUnderLoad(t *testing.T) {
	eng := startEngine(t, "docker")
	e := newEnv(t)
	port := freePort(t)
	if r := e.deploySpec("cbg", "v1", containerSpec("docker", "cbg", "v1", "", port, 1, "bluegreen")); r.code != 0 {
		t.Fatalf("first deploy: %s\ndaemon log:\n%s", r, e.daemonLog())
	}
	e.waitAnswer(port, "hello from v1")

	ld := startLoad(port, 4)
	r := e.deploySpec("cbg", "v2", containerSpec("docker", "cbg", "v2", "", port, 1, "bluegreen"))
	ld.stop()
	if r.code != 0 {
		t.Fatalf("blue-green deploy: %s", r)
	}
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed in the blue-green deploy; first: %v", f, ld.sent.Load(), ld.errs())
	}
	t.Logf("blue-green: %d requests, answers %v", ld.sent.Load(), ld.bodies)
	e.waitAnswer(port, "hello from v2")

	// A release that never gets healthy is refused; v2 serves on.
	r = e.deploySpec("cbg", "v3", containerSpec("docker", "cbg", "v3", "unhealthy", port, 1, "bluegreen"))
	if r.code == 0 {
		t.Fatalf("a never-healthy image went live: %s", r)
	}
	e.waitAnswer(port, "hello from v2")

	// The daemon dies; the next one re-adopts the containers as they run.
	before := e.status("cbg")
	e.stopDaemon(syscall.SIGKILL)
	e.startDaemon()
	e.waitAnswer(port, "hello from v2")
	after := e.status("cbg")
	if livePIDs(before) != livePIDs(after) || livePIDs(after) == "" {
		t.Errorf("live instance changed across the daemon kill: %q then %q", livePIDs(before), livePIDs(after))
	}
	ps, err := eng.CLI(t.Context(), nil, "ps", "--format", "{{.Names}} {{.Labels}}")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ps), "berth.app=cbg") {
		t.Errorf("docker ps shows no labelled container of cbg:\n%s", ps)
	}

	// Rolling over 3 instances under load.
	rport := freePort(t)
	if r := e.deploySpec("croll", "v1", containerSpec("docker", "croll", "v1", "", rport, 3, "rolling")); r.code != 0 {
		t.Fatalf("first rolling deploy: %s", r)
	}
	e.waitAnswer(rport, "hello from v1")
	ld = startLoad(rport, 4)
	r = e.deploySpec("croll", "v2", containerSpec("docker", "croll", "v2", "", rport, 3, "rolling"))
	ld.stop()
	if r.code != 0 {
		t.Fatalf("rolling deploy: %s", r)
	}
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed in the rolling deploy; first: %v", f, ld.sent.Load(), ld.errs())
	}
	t.Logf("rolling: %d requests, answers %v", ld.sent.Load(), ld.bodies)
	logs := e.berth("logs", "croll")
	if !strings.Contains(logs.stdout, "listening on") {
		t.Errorf("berth logs shows no output of the containers: %s", logs)
	}
}

// livePIDs names the live running instances and their pids.
func livePIDs(st deploy.AppStatus) string {
	var out []string
	for _, in := range st.Instances {
		if in.Live && in.State == "running" {
			out = append(out, fmt.Sprintf("%s.%d=%d", in.Color, in.Index, in.PID))
		}
	}
	return strings.Join(out, " ")
}

// TestPodmanBlueGreenUnderLoad: the same blue-green deploy under load on
// rootful Podman through its Docker-compatible API: 0 failed requests, and
// a never-healthy release refused with the live one serving.
func TestPodmanBlueGreenUnderLoad(t *testing.T) {
	startEngine(t, "podman")
	e := newEnv(t)
	port := freePort(t)
	if r := e.deploySpec("cpod", "v1", containerSpec("podman", "cpod", "v1", "", port, 1, "bluegreen")); r.code != 0 {
		t.Fatalf("first deploy: %s\ndaemon log:\n%s", r, e.daemonLog())
	}
	e.waitAnswer(port, "hello from v1")
	ld := startLoad(port, 4)
	r := e.deploySpec("cpod", "v2", containerSpec("podman", "cpod", "v2", "", port, 1, "bluegreen"))
	ld.stop()
	if r.code != 0 {
		t.Fatalf("blue-green deploy: %s", r)
	}
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed in the blue-green deploy; first: %v", f, ld.sent.Load(), ld.errs())
	}
	t.Logf("podman blue-green: %d requests, answers %v", ld.sent.Load(), ld.bodies)
	e.waitAnswer(port, "hello from v2")
	if r := e.deploySpec("cpod", "v3", containerSpec("podman", "cpod", "v3", "unhealthy", port, 1, "bluegreen")); r.code == 0 {
		t.Fatalf("a never-healthy image went live: %s", r)
	}
	e.waitAnswer(port, "hello from v2")
}
