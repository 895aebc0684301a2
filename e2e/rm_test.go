package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// refuses reports whether nothing accepts connections on the loopback port.
func refuses(port int) error {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return nil
	}
	c.Close()
	return fmt.Errorf("127.0.0.1:%d still accepts connections", port)
}

// TestRemoveApp: `berth rm` is refused while a deploy runs (exit 5); then
// it stops the live and the warm instance, closes the listener, drops the
// app from status, and keeps the history and the files; --purge deletes
// the files too.
func TestRemoveApp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	e.mustDeploy(app{name: "gone", version: "v1", mode: "good", listen: port})
	dep := e.startBerth("deploy", "-f", e.write(slowApp("gone", "v2", port)))
	dep.waitLine(t, "start green")
	if r := e.berth("rm", "gone"); r.code != 5 {
		t.Errorf("berth rm during a deploy: want exit 5 (busy), got %s", r)
	}
	if code := dep.wait(t); code != 0 {
		t.Fatalf("the deploy during the refused rm: exit %d:\n%s", code, dep.out.String())
	}
	e.waitAnswer(port, "hello from v2")
	var pids []int
	for _, in := range e.status("gone").Instances {
		pids = append(pids, in.PID)
	}
	if len(pids) != 2 {
		t.Fatalf("want a live and a warm instance before rm, got %+v", e.status("gone").Instances)
	}
	e.notePIDs("gone")

	if r := e.berth("rm", "gone"); r.code != 0 {
		t.Fatalf("berth rm: %s", r)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("agent pid %d still runs after rm", pid)
		}
	}
	if err := refuses(port); err != nil {
		t.Error(err)
	}
	if r := e.berth("status", "gone"); r.code != 6 {
		t.Errorf("berth status of a removed app: want exit 6, got %s", r)
	}
	if r := e.berth("status"); strings.Contains(r.stdout, "gone") {
		t.Errorf("berth status still lists the removed app: %s", r)
	}
	if ds := e.history("gone"); len(ds) < 2 {
		t.Errorf("history after rm has %d deployments, want them kept", len(ds))
	}
	for _, p := range []string{"apps/gone/shared", "apps/gone/releases", "logs/gone"} {
		if _, err := os.Stat(filepath.Join(e.home, p)); err != nil {
			t.Errorf("rm without --purge removed %s: %v", p, err)
		}
	}
	if r := e.berth("rm", "gone"); r.code != 6 {
		t.Errorf("berth rm of a removed app: want exit 6, got %s", r)
	}

	// The name can be deployed again; --purge then deletes its files.
	e.mustDeploy(app{name: "gone", version: "v3", mode: "good", listen: port})
	e.waitAnswer(port, "hello from v3")
	e.notePIDs("gone")
	if r := e.berth("rm", "--purge", "gone"); r.code != 0 {
		t.Fatalf("berth rm --purge: %s", r)
	}
	for _, p := range []string{"apps/gone", "logs/gone"} {
		if _, err := os.Stat(filepath.Join(e.home, p)); err == nil {
			t.Errorf("rm --purge left %s", p)
		}
	}
	if err := refuses(port); err != nil {
		t.Error(err)
	}
}

// TestRemoveNeverLiveApp: an app whose first deploy failed is explained
// by `berth why` without spec errors and removed by `berth rm`.
func TestRemoveNeverLiveApp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	if r := e.deploy(app{name: "never", version: "v1", mode: "crash", listen: port}); r.code != 3 {
		t.Fatalf("first deploy of a crashing release: want exit 3, got %s", r)
	}
	r := e.berth("why", "never")
	if r.code != 0 || !strings.Contains(r.stdout, "first deploy never succeeded") {
		t.Errorf("berth why of a never-live app: %s", r)
	}
	if out := r.stdout + r.stderr; strings.Contains(out, "spec") || strings.Contains(out, "berth.toml") {
		t.Errorf("berth why of a never-live app talks of a spec: %s", r)
	}
	// Nothing runs, so stop has nothing to do; start and restart say why
	// they cannot, not that a spec is broken.
	if r := e.berth("stop", "never"); r.code != 0 {
		t.Errorf("berth stop of a never-live app: %s", r)
	}
	for _, cmd := range []string{"start", "restart"} {
		r := e.berth(cmd, "never")
		if out := r.stdout + r.stderr; r.code == 0 || !strings.Contains(out, "never live") || strings.Contains(out, "version: missing") {
			t.Errorf("berth %s of a never-live app: %s", cmd, r)
		}
	}
	if r := e.berth("rm", "never"); r.code != 0 {
		t.Fatalf("berth rm of a never-live app: %s", r)
	}
	if r := e.berth("status", "never"); r.code != 6 {
		t.Errorf("berth status after rm: want exit 6, got %s", r)
	}
	if err := refuses(port); err != nil {
		t.Error(err)
	}
}
