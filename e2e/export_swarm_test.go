package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// swarmSpec is the berth.toml of the Swarm test: a container app whose
// exec check the image runs itself.
func swarmSpec(port int, version, mode string) string {
	return fmt.Sprintf(`version = 1
name = "swarmed"

[run]
runtime = "docker"
image = "berth-swarm-agent:v1"
env = { MODE = %q, VERSION = %q }
stop_timeout = "3s"
memory = "64MiB"
cpus = 0.5
pids = 64

[service]
listen = "127.0.0.1:%d"

[deploy]
strategy = "bluegreen"
verify_for = "3s"

[[checks]]
name = "up"
type = "exec"
command = ["/agent", "check"]
interval = "1s"
timeout = "2s"
retries = 2
start_period = "1s"
`, mode, version, port)
}

// TestExportSwarmDeploysAndRollsBack deploys berth export swarm's stack
// file with docker stack deploy on a real single-node Swarm: the service
// becomes healthy through the exported exec HEALTHCHECK and answers on its
// host-mode port; an update that never gets healthy is rolled back by
// Swarm itself (update_config failure_action: rollback), while the first
// release keeps answering.
func TestExportSwarmDeploysAndRollsBack(t *testing.T) {
	t.Parallel()
	d := startDockerd(t)
	// Its own manager port on loopback: the default, 0.0.0.0:2377, is
	// taken by another dockerd's Swarm on the same machine.
	mgr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d.must("swarm", "init", "--advertise-addr", mgr, "--listen-addr", mgr)
	d.buildAgentImage("berth-swarm-agent:v1")
	t.Cleanup(func() { d.removeStack("bs", "bs_swarmed") })

	dir := t.TempDir()
	port := freePort(t)
	stack := exportSwarm(t, dir, swarmSpec(port, "v1", "good"))
	d.must("stack", "deploy", "--resolve-image", "never", "-c", stack, "bs")
	d.waitHealthy("bs_swarmed", 90*time.Second)
	c := newClient(2 * time.Second)
	defer c.CloseIdleConnections()
	up := fmt.Sprintf("http://127.0.0.1:%d/up", port)
	if code, body, err := get(c, up); err != nil || code != 200 || body != "v1" {
		t.Fatalf("the deployed service on 127.0.0.1:%d: %d %q, %v; want 200 v1", port, code, body, err)
	}
	checkServiceSpec(t, d, "bs_swarmed")

	// The new task publishes no port: on one node, a start-first update
	// of a host-mode port would wait for a second node forever.
	stack = exportSwarm(t, dir, swarmSpec(port, "v2", "unhealthy"), "--publish", "none")
	d.must("stack", "deploy", "--resolve-image", "never", "-c", stack, "bs")
	failed, served := 0, 0
	deadline := time.Now().Add(2 * time.Minute)
	state := ""
	for state != "rollback_completed" {
		if time.Now().After(deadline) {
			t.Fatalf("no rollback within 2m: UpdateStatus.State %q\n%s", state, d.must("service", "ps", "--no-trunc", "bs_swarmed"))
		}
		state = d.must("service", "inspect", "-f", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}", "bs_swarmed")
		if state == "paused" || state == "rollback_paused" {
			t.Fatalf("the update ended %s, not rolled back: %s", state, d.must("service", "inspect", "-f", "{{.UpdateStatus.Message}}", "bs_swarmed"))
		}
		if code, body, err := get(c, up); err != nil || code != 200 || body != "v1" {
			failed++
			t.Logf("during the update: %d %q, %v", code, body, err)
		} else {
			served++
		}
		time.Sleep(200 * time.Millisecond)
	}
	env := d.must("service", "inspect", "-f", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}", "bs_swarmed")
	if !strings.Contains(env, "MODE=good") || !strings.Contains(env, "VERSION=v1") {
		t.Errorf("after the rollback the service runs %s, want the first release's env", env)
	}
	if failed > 0 {
		t.Errorf("%d of %d requests to the first release failed during the failed update", failed, failed+served)
	}
	t.Logf("rolled back by Swarm; %d requests served by v1 during the update, %d failed", served, failed)
}

// exportSwarm writes spec and returns the path of berth export swarm's
// stack file for it.
func exportSwarm(t *testing.T, dir, spec string, flags ...string) string {
	t.Helper()
	file := filepath.Join(dir, "berth.toml")
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runBerth(dir, append([]string{"export", "swarm", "-f", file}, flags...)...)
	if r.code != 0 {
		t.Fatalf("berth export swarm: %s", r)
	}
	if strings.Contains(r.stderr, "not carried: checks") {
		t.Errorf("the exec check was not carried:\n%s", r.stderr)
	}
	stack := filepath.Join(dir, "stack.yaml")
	if err := os.WriteFile(stack, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	return stack
}

// checkServiceSpec reads what Swarm made of the stack file.
func checkServiceSpec(t *testing.T, d *dockerd, svc string) {
	t.Helper()
	var s struct {
		UpdateConfig struct {
			Order, FailureAction string
			Monitor              int64
		}
		TaskTemplate struct {
			Resources struct {
				Limits struct{ NanoCPUs, MemoryBytes, Pids int64 }
			}
			ContainerSpec struct {
				StopGracePeriod int64
				Healthcheck     struct{ Test []string }
			}
		}
	}
	if err := json.Unmarshal([]byte(d.must("service", "inspect", "-f", "{{json .Spec}}", svc)), &s); err != nil {
		t.Fatal(err)
	}
	u, tt := s.UpdateConfig, s.TaskTemplate
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"update order", u.Order, "start-first"},
		{"update failure action", u.FailureAction, "rollback"},
		{"update monitor", time.Duration(u.Monitor), 3 * time.Second},
		{"memory limit", tt.Resources.Limits.MemoryBytes, int64(64 << 20)},
		{"cpu limit", tt.Resources.Limits.NanoCPUs, int64(5e8)},
		{"pids limit", tt.Resources.Limits.Pids, int64(64)},
		{"stop grace period", time.Duration(tt.ContainerSpec.StopGracePeriod), 3 * time.Second},
		{"healthcheck", strings.Join(tt.ContainerSpec.Healthcheck.Test, " "), "CMD /agent check"},
	} {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
}

// waitHealthy waits until a task of svc runs a healthy container.
func (d *dockerd) waitHealthy(svc string, limit time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		out, _ := d.run(10*time.Second, "ps", "--filter", "label=com.docker.swarm.service.name="+svc, "--format", "{{.Status}}")
		if strings.Contains(out, "(healthy)") {
			return
		}
		if time.Now().After(deadline) {
			ps, _ := d.run(10*time.Second, "service", "ps", "--no-trunc", svc)
			d.t.Fatalf("%s not healthy within %s: %q\n%s", svc, limit, out, ps)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// removeStack removes the stack and waits (bounded) for its containers to
// go, so that the engine stops with nothing of it running.
func (d *dockerd) removeStack(stack, svc string) {
	d.run(time.Minute, "stack", "rm", stack)
	for range 60 {
		out, err := d.run(10*time.Second, "ps", "-aq", "--filter", "label=com.docker.swarm.service.name="+svc)
		if err != nil || out == "" {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	d.run(time.Minute, "swarm", "leave", "--force")
}
