package systemd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/systemd"
)

// inBoxEnv marks the copy of this test binary that runs inside the box.
const inBoxEnv = "BERTH_E2E_IN_BOX"

// testRuntimeInBox runs TestRuntimeInBox inside the booted box: the
// runtime's code must run where systemd is PID 1, so this test binary is
// copied in and run there through nsenter.
func testRuntimeInBox(t *testing.T, box *Box) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	box.Install(self, "/usr/local/bin/berth-e2e-systemd.test", 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := box.ExecEnv(ctx, []string{inBoxEnv + "=1"}, "/usr/local/bin/berth-e2e-systemd.test",
		"-test.run", "^TestRuntimeInBox$", "-test.v", "-test.count=1")
	t.Logf("inside the box:\n%s", out)
	if err != nil || !strings.Contains(out, "--- PASS: TestRuntimeInBox") {
		t.Fatalf("TestRuntimeInBox failed inside the box: %v", err)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "FIGURE") {
			fmt.Println(line)
		}
	}
}

// TestRuntimeInBox drives the systemd runtime against the provisioned app
// "echo": blue and green at once on two ports, journald logs, stop, a
// crashing release. It only runs inside the box TestSystemd boots.
func TestRuntimeInBox(t *testing.T) {
	if os.Getenv(inBoxEnv) != "1" {
		t.Skip("runs inside the nspawn box only (TestSystemd/runtime starts it there)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l := home.Layout{Root: "/var/lib/berth"}
	app, err := spec.Load("/srv/echo/berth.toml")
	if err != nil {
		t.Fatal(err)
	}
	rt := systemd.NewRuntime(l, systemd.Systemctl{}, "")
	unitPath := filepath.Join(systemd.UnitDir, systemd.TemplateName("echo"))
	before, err := os.Stat(unitPath)
	if err != nil {
		t.Fatalf("the unit provisioning installed: %v", err)
	}

	blue := instance(t, app, "blue", 9001, "v1", "good")
	green := instance(t, app, "green", 9002, "v2", "good")
	for _, inst := range []runtime.Instance{blue, green} {
		st, err := rt.Start(ctx, inst)
		if err != nil {
			t.Fatalf("Start %s: %v", inst.ID, err)
		}
		if st.State != runtime.StateRunning || st.PID == 0 {
			t.Fatalf("Start %s = %+v; want running with a pid", inst.ID, st)
		}
	}
	if after, _ := os.Stat(unitPath); !after.ModTime().Equal(before.ModTime()) {
		t.Error("the runtime rewrote the unit provisioning installed: spec and instance render differently")
	}
	// Both colors serve at once, each its own release, as the blue-green
	// switch needs.
	for port, want := range map[int]string{9001: "hello from v1", 9002: "hello from v2"} {
		if got := get(t, port); !strings.Contains(got, want) {
			t.Errorf("port %d answered %q; want %q", port, got, want)
		}
	}
	for _, unit := range []string{"berth-echo@blue.service", "berth-echo@green.service"} {
		if out, err := inBox(ctx, "systemctl", "is-active", unit); strings.TrimSpace(out) != "active" {
			t.Errorf("%s is %q (%v) while both colors should run", unit, out, err)
		}
	}
	if _, err := rt.Start(ctx, blue); !errors.Is(err, runtime.ErrRunning) {
		t.Errorf("second Start of blue: %v; want ErrRunning", err)
	}
	checkAgentProcess(t, rt, ctx)

	lines, err := rt.Logs(ctx, "echo.blue", 20)
	if err != nil || !strings.Contains(strings.Join(lines, "\n"), "sample agent v1 (mode good) listening on 127.0.0.1:9001") {
		t.Errorf("journal of blue = %q, %v; want the agent's start line", lines, err)
	}
	if out, _ := inBox(ctx, "journalctl", "-u", "berth-echo@green.service", "-o", "cat", "--no-pager"); !strings.Contains(out, "listening on 127.0.0.1:9002") {
		t.Errorf("journalctl -u shows no output of green:\n%s", out)
	}

	checkSecondInstance(ctx, t, rt, app)

	st, err := rt.Stop(ctx, "echo.blue")
	if err != nil || st.State != runtime.StateStopped {
		t.Errorf("Stop blue = %+v, %v; want stopped", st, err)
	}
	if st, _ := rt.Status(ctx, "echo.green"); st.State != runtime.StateRunning {
		t.Errorf("green after stopping blue: %+v", st)
	}

	// A release that crashes: systemd restarts it; the runtime reports it.
	crash := instance(t, app, "blue", 9001, "v3", "crash")
	if _, err := rt.Start(ctx, crash); err != nil {
		t.Logf("Start of a crashing release: %v (Type=exec may see it start before it dies)", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := rt.Status(ctx, "echo.blue")
		if err == nil && st.Restarts >= 1 && st.LastExit == "exit 1" {
			t.Logf("crashing release: %+v", st)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a crashing release never showed a restart: %+v, %v", st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, id := range []string{"echo.blue", "echo.green"} {
		if _, err := rt.Stop(ctx, id); err != nil {
			t.Errorf("Stop %s: %v", id, err)
		}
	}
	if err := rt.Remove(ctx, "echo.blue"); err != nil {
		t.Errorf("Remove blue: %v", err)
	}
	if _, err := rt.Status(ctx, "echo.blue"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Status after Remove: %v; want ErrNotFound", err)
	}
	list, err := rt.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != "echo.green" {
		t.Errorf("List = %+v, %v; want only echo.green", list, err)
	}
	checkSecretsInBox(ctx, t, rt, l, app)
}

// checkSecondInstance runs instance 1 of blue ([deploy] instances > 1)
// beside instance 0: its own unit of the template, named by its slot,
// serving on its own port, stopped and removed alone.
func checkSecondInstance(ctx context.Context, t *testing.T, rt *systemd.Runtime, app *spec.App) {
	t.Helper()
	second := instance(t, app, "blue.1", 9003, "v1", "good")
	if st, err := rt.Start(ctx, second); err != nil || st.State != runtime.StateRunning {
		t.Fatalf("Start echo.blue.1 = %+v, %v; want running", st, err)
	}
	if got := get(t, 9003); !strings.Contains(got, "hello from v1") {
		t.Errorf("instance blue.1 answered %q", got)
	}
	for _, unit := range []string{"berth-echo@blue.service", "berth-echo@blue.1.service"} {
		if out, err := inBox(ctx, "systemctl", "is-active", unit); strings.TrimSpace(out) != "active" {
			t.Errorf("%s is %q (%v) while both instances of blue should run", unit, out, err)
		}
	}
	if _, err := rt.Stop(ctx, "echo.blue.1"); err != nil {
		t.Errorf("Stop echo.blue.1: %v", err)
	}
	if st, _ := rt.Status(ctx, "echo.blue"); st.State != runtime.StateRunning {
		t.Errorf("blue after stopping blue.1: %+v", st)
	}
	if err := rt.Remove(ctx, "echo.blue.1"); err != nil {
		t.Errorf("Remove echo.blue.1: %v", err)
	}
}

// instance builds what the deploy engine would for app's color.
func instance(t *testing.T, app *spec.App, color string, port int, version, mode string) runtime.Instance {
	t.Helper()
	dir := filepath.Join("/var/lib/berth/apps/echo/releases", version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
		"HOME=/var/lib/berth/apps/echo/shared", "BERTH_APP=echo", "BERTH_COLOR=" + color,
		fmt.Sprintf("PORT=%d", port), "VERSION=" + version, "MODE=" + mode, "GREETING=" + app.Run.Env["GREETING"]}
	r := app.Run
	return runtime.Instance{
		ID: "echo." + color, App: "echo", Argv: r.Command, Dir: dir, Env: env, User: "berth-echo",
		Restart: r.Restart, StopTimeout: r.StopTimeout.Duration, MemoryMax: int64(r.MemoryMax),
		CPUQuota: r.CPUQuota, TasksMax: r.TasksMax, Notify: r.Notify, Watchdog: r.Watchdog.Duration,
		Capabilities: r.Capabilities, Relax: r.Systemd.Relax,
	}
}

// checkAgentProcess looks at the running agent: its user, its environment
// (escaping survived systemd's parser), and its secrets from env_file.
func checkAgentProcess(t *testing.T, rt *systemd.Runtime, ctx context.Context) {
	t.Helper()
	st, err := rt.Status(ctx, "echo.blue")
	if err != nil {
		t.Fatal(err)
	}
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", st.PID))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(string(environ), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	want := map[string]string{"GREETING": "100% $HOME 'q'", "PORT": "9001", "API_TOKEN": "s3cr3t-token-value",
		"DB_PASSWORD": "hunter2 hunter2", "REGION": "eu", "BERTH_COLOR": "blue"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("agent env %s = %q; want %q", k, env[k], v)
		}
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", st.PID))
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := inBox(ctx, "id", "-u", "berth-echo"); !strings.Contains(string(status), "Uid:\t"+strings.TrimSpace(out)+"\t") {
		t.Errorf("agent does not run as berth-echo (uid %s):\n%s", strings.TrimSpace(out), status)
	}
}

// get fetches / from a local port, waiting (up to 20s) for the agent to
// listen: Type=exec units are active once exec'd, before they bind.
func get(t *testing.T, port int) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	for err != nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		resp, err = c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	}
	if err != nil {
		t.Errorf("GET :%d: %v", port, err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// inBox runs a command here (the test already runs inside the box).
func inBox(ctx context.Context, name string, args ...string) (string, error) {
	out, err := osexec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}
