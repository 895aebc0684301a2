package systemd_test

import (
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// maxExposure is the target for a generated unit ("OK").
const maxExposure = 2.0

// buildBerth builds berth's binary for the box.
func buildBerth(t *testing.T) string {
	t.Helper()
	out, err := osexec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "berth")
	build := osexec.Command("go", "build", "-o", bin, "./cmd/berth")
	build.Dir = filepath.Dir(strings.TrimSpace(string(out)))
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building berth: %v\n%s", err, b)
	}
	return bin
}

const echoSpec = `version = 1
name = "echo"

[run]
command = ["/usr/local/bin/berth", "sample-agent"]
env = { VERSION = "v1", GREETING = "100% $HOME 'q'" }
runtime = "systemd"
env_file = "secrets.env"
memory_max = "256MiB"
cpu_quota = "50%"
tasks_max = 64

[service]
listen = "127.0.0.1:8080"
`

const echoSecrets = "# secrets\nAPI_TOKEN=s3cr3t-token-value\nDB_PASSWORD='hunter2 hunter2'\nREGION=eu\n"

var exposureRe = regexp.MustCompile(`exposure ([0-9.]+) (\S+)`)

// TestSystemd boots one box and runs every real-systemd check in it, in
// order: booting costs about a second, so the suite stays well inside CI's
// budget.
func TestSystemd(t *testing.T) {
	box := bootBox(t)
	bin := buildBerth(t)
	box.Install(bin, "/usr/local/bin/berth", 0o755)
	box.WriteFile("/srv/echo/berth.toml", []byte(echoSpec), 0o644)
	box.WriteFile("/srv/echo/secrets.env", []byte(echoSecrets), 0o600)

	t.Run("provision", func(t *testing.T) { testProvision(t, box) })
	t.Run("security", func(t *testing.T) { testSecurity(t, box) })
	t.Run("runtime", func(t *testing.T) { testRuntimeInBox(t, box) })
	t.Run("daemon restart", func(t *testing.T) { testDaemonRestart(t, box) })
	t.Run("blue-green", func(t *testing.T) { testBlueGreen(t, box) })
	t.Run("upgrade", func(t *testing.T) { testUpgrade(t, box) })
	t.Run("unprovision", func(t *testing.T) { testUnprovision(t, box) })
}

func testProvision(t *testing.T, box *Box) {
	dry := box.Must("berth", "provision", "-f", "/srv/echo/berth.toml", "--dry-run")
	t.Logf("dry run:\n%s", dry)
	// The box shares the host's users: berth_front may exist already.
	if _, err := box.Exec(context.Background(), "id", "-u", "berth_front"); err != nil && !strings.Contains(dry, "user    berth_front: create") {
		t.Errorf("the plan does not create berth_front, which the box lacks")
	}
	for _, want := range []string{"dry run, nothing changed", "user    berth-echo: create", "(secret, 3 keys)",
		"+ ExecStart=/usr/local/bin/berth sample-agent", "berth.service: enable --now",
		"+ ListenStream=127.0.0.1:8080", "berth-proxy-echo.socket: enable"} {
		if !strings.Contains(dry, want) {
			t.Errorf("dry run lacks %q", want)
		}
	}
	for _, secret := range []string{"s3cr3t", "hunter2"} {
		if strings.Contains(dry, secret) {
			t.Errorf("dry run prints the secret %q", secret)
		}
	}
	if _, err := os.Stat(filepath.Join(box.Root, "etc/systemd/system/berth-echo@.service")); err == nil {
		t.Error("dry run wrote the unit")
	}

	start := time.Now()
	first := box.Must("berth", "provision", "-f", "/srv/echo/berth.toml", "--check-disk-every", "15m", "--no-start")
	tookFirst := time.Since(start)
	t.Logf("first run (%v):\n%s", tookFirst, first)
	if strings.Contains(first, "FAILED") || strings.Contains(first, "0 changes") {
		t.Fatalf("first provision did not apply cleanly")
	}
	box.Must("id", "-u", "berth_front") // the front's user, created by the run above or before it
	for _, want := range []string{"] user    berth-echo: create", "done (", "daemon-reload"} {
		if !strings.Contains(first, want) {
			t.Errorf("first run lacks %q", want)
		}
	}
	if m := exposureRe.FindStringSubmatch(first); m == nil {
		t.Errorf("provision printed no exposure score")
	} else if e, _ := strconv.ParseFloat(m[1], 64); e > maxExposure {
		t.Errorf("exposure of the generated unit = %v %s; want <= %v", e, m[2], maxExposure)
	}

	start = time.Now()
	second := box.Must("berth", "provision", "-f", "/srv/echo/berth.toml", "--check-disk-every", "15m", "--no-start")
	tookSecond := time.Since(start)
	t.Logf("second run (%v):\n%s", tookSecond, second)
	if !strings.Contains(second, "0 changes") || !strings.Contains(second, "already provisioned") {
		t.Errorf("second provision changed something")
	}
	fmt.Printf("FIGURE provision from scratch: %v; second (no-change) run: %v\n", tookFirst.Round(time.Millisecond), tookSecond.Round(time.Millisecond))

	// What the host now has.
	if got := strings.TrimSpace(box.Must("stat", "-c", "%a %U %G", "/var/lib/berth/apps/echo/app.env")); got != "600 berth-echo berth-echo" {
		t.Errorf("app.env is %q; want 600 berth-echo berth-echo", got)
	}
	if got := strings.TrimSpace(box.Must("stat", "-c", "%a %U", "/var/lib/berth/apps/echo/shared")); got != "750 berth-echo" {
		t.Errorf("shared is %q; want 750 berth-echo", got)
	}
	if got := box.Must("getent", "passwd", "berth-echo"); !strings.HasSuffix(strings.TrimSpace(got), ":/usr/sbin/nologin") {
		t.Errorf("berth-echo has a login shell: %q", got)
	}
	if got := strings.TrimSpace(box.Must("systemctl", "is-active", "berth.service")); got != "active" {
		t.Errorf("berth.service is %q after provisioning", got)
	}
	// The proxy's socket: systemd listens, berth.service holds it.
	if got := strings.TrimSpace(box.Must("systemctl", "is-active", "berth-proxy-echo.socket")); got != "active" {
		t.Errorf("berth-proxy-echo.socket is %q after provisioning", got)
	}
	if got := box.Must("systemctl", "show", "-p", "Triggers", "--value", "berth-proxy-echo.socket"); strings.TrimSpace(got) != "berth.service" {
		t.Errorf("berth-proxy-echo.socket triggers %q; want berth.service", got)
	}
	if got := box.Must("systemctl", "list-timers", "--all", "--no-pager", "berth-check-disk.timer"); !strings.Contains(got, "berth-check-disk.timer") {
		t.Errorf("the check timer is not listed:\n%s", got)
	}
	// Limits are rendered and loaded, not enforced: this VM's hybrid cgroup
	// setup accepts MemoryMax=/CPUQuota= without applying them, so only
	// what systemd read is checked, never that the limits bite.
	props := box.Must("systemctl", "show", "berth-echo@blue.service", "-p", "MemoryMax,CPUQuotaPerSecUSec,TasksMax")
	for _, want := range []string{"MemoryMax=268435456", "CPUQuotaPerSecUSec=500ms", "TasksMax=64"} {
		if !strings.Contains(props, want) {
			t.Errorf("systemctl show lacks %s:\n%s", want, props)
		}
	}
}

func testSecurity(t *testing.T, box *Box) {
	box.WriteFile("/etc/systemd/system/plain-agent.service", []byte("[Service]\nExecStart=/usr/local/bin/berth sample-agent\n"), 0o644)
	box.Must("systemctl", "daemon-reload")
	score := func(unit string) float64 {
		out := box.Must("systemd-analyze", "security", "--no-pager", unit)
		m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no exposure in:\n%s", out)
		}
		f, _ := strconv.ParseFloat(m[1], 64)
		return f
	}
	ours, plain := score("berth-echo@blue.service"), score("plain-agent.service")
	fmt.Printf("FIGURE systemd-analyze security exposure: generated unit %.1f, plain unit %.1f\n", ours, plain)
	if ours > maxExposure {
		t.Errorf("generated unit exposure %.1f; want <= %.1f", ours, maxExposure)
	}
	if plain <= ours {
		t.Errorf("a plain unit (%.1f) scores no worse than ours (%.1f): the measurement is broken", plain, ours)
	}
}

func testUnprovision(t *testing.T, box *Box) {
	out := box.Must("berth", "unprovision", "echo")
	t.Logf("unprovision:\n%s", out)
	for _, gone := range []string{"etc/systemd/system/berth-echo@.service", "etc/systemd/system/berth-proxy-echo.socket", "var/lib/berth/apps/echo/app.env", "var/lib/berth/apps/echo/colors"} {
		if _, err := os.Lstat(filepath.Join(box.Root, gone)); err == nil {
			t.Errorf("/%s is still there", gone)
		}
	}
	if _, err := os.Stat(filepath.Join(box.Root, "var/lib/berth/apps/echo/shared")); err != nil {
		t.Errorf("unprovision without --purge removed data: %v", err)
	}
	box.Must("berth", "unprovision", "--purge", "echo")
	if _, err := box.Exec(context.Background(), "getent", "passwd", "berth-echo"); err == nil {
		t.Error("--purge left the user berth-echo")
	}
	if _, err := os.Stat(filepath.Join(box.Root, "var/lib/berth/apps/echo")); err == nil {
		t.Error("--purge left the app's directory")
	}
}

const webSpec = `version = 1
name = "web"

[run]
command = ["/usr/local/bin/berth", "sample-agent"]

[service]
listen = "127.0.0.1:8081"

[deploy]
verify_for = "1s"
min_requests = 0
`

// plainSpec is an app berth deploys without provisioning it: it has no
// socket unit, so the daemon binds its address itself. It is the baseline
// the same restarts are measured against.
var plainSpec = strings.NewReplacer(`name = "web"`, `name = "plain"`, "8081", "8083").Replace(webSpec)

// restartScript requests both proxies in a loop for 9s while berth.service
// is restarted three times, 2s apart, and counts the requests that failed
// by curl's exit code (7: connection refused; 52, 56: no answer or reset).
// A request may wait in the socket's backlog while the daemon restarts: up
// to 10s is not a failure.
const restartScript = `load() {
  ok=0; fail=0; codes=""; end=$((SECONDS+9))
  while [ $SECONDS -lt $end ]; do
    curl -s -o /dev/null --max-time 10 http://127.0.0.1:$1/; rc=$?
    if [ $rc -eq 0 ]; then ok=$((ok+1)); else fail=$((fail+1)); codes="$codes $rc"; fi
  done
  echo "ok=$ok fail=$fail codes=$codes" > /tmp/load-$1
}
load 8081 & load 8083 &
for i in 1 2 3; do sleep 2; systemctl restart berth.service; done
wait
cat /tmp/load-8081 /tmp/load-8083`

// testDaemonRestart measures what a client of an app's proxy sees while
// systemd restarts berth's daemon: provisioning gave the app a socket unit,
// so systemd holds the listening socket and the daemon adopts it; clients
// wait in its backlog while the daemon restarts.
func testDaemonRestart(t *testing.T, box *Box) {
	if _, err := osexec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	box.WriteFile("/srv/web/berth.toml", []byte(webSpec), 0o644)
	box.WriteFile("/srv/web/rel/README", []byte("release 1\n"), 0o644)
	prov := box.Must("berth", "provision", "-f", "/srv/web/berth.toml", "--check-disk-every", "15m", "--check-app-every", "5m")
	t.Logf("provision web:\n%s", prov)
	if !strings.Contains(prov, "berth.service: restart (to take berth-proxy-web.socket from systemd)") {
		t.Errorf("provisioning a socket did not restart the daemon to take it")
	}
	if got := strings.TrimSpace(box.Must("systemctl", "is-active", "berth-proxy-web.socket")); got != "active" {
		t.Fatalf("berth-proxy-web.socket is %q", got)
	}
	out := box.Must("berth", "deploy", "-f", "/srv/web/berth.toml", "/srv/web/rel")
	t.Logf("deploy:\n%s", out)
	// The app's functional-check timer: listed, and its service (a oneshot
	// `berth check app web`) succeeds against the live app.
	if got := box.Must("systemctl", "list-timers", "--all", "--no-pager", "berth-check-app-web.timer"); !strings.Contains(got, "berth-check-app-web.timer") {
		t.Errorf("the app's check timer is not listed:\n%s", got)
	}
	box.Must("systemctl", "start", "berth-check-app-web.service")
	if j := box.Must("journalctl", "-u", "berth.service", "-o", "cat", "--no-pager"); !strings.Contains(j, `proxy listener from systemd`) {
		t.Errorf("the daemon's journal does not show it adopting the socket:\n%s", tail([]byte(j), 20))
	}
	box.WriteFile("/srv/plain/berth.toml", []byte(plainSpec), 0o644)
	t.Logf("deploy plain (no socket unit):\n%s", box.Must("berth", "deploy", "-f", "/srv/plain/berth.toml", "/srv/web/rel"))
	res := strings.Split(strings.TrimSpace(box.Must("bash", "-c", restartScript)), "\n")
	if len(res) != 2 {
		t.Fatalf("load script printed %q", res)
	}
	t.Logf("across three restarts: socket-activated %s; baseline without a socket %s", res[0], res[1])
	var ok, fail, bok, bfail int
	if _, err := fmt.Sscanf(res[0], "ok=%d fail=%d", &ok, &fail); err != nil || ok == 0 {
		t.Fatalf("no request succeeded around the restarts: %q", res[0])
	}
	if _, err := fmt.Sscanf(res[1], "ok=%d fail=%d", &bok, &bfail); err != nil {
		t.Fatalf("baseline: %q", res[1])
	}
	refused := func(line string) int {
		n := 0
		for _, code := range strings.Fields(line[strings.Index(line, "codes=")+len("codes="):]) {
			if code == "7" {
				n++
			}
		}
		return n
	}
	fmt.Printf("FIGURE requests failed across 3x systemctl restart berth.service: socket-activated %d of %d (%d refused); baseline without a socket unit, same restarts: %d of %d (%d refused)\n",
		fail, ok+fail, refused(res[0]), bfail, bok+bfail, refused(res[1]))
	if fail > 0 {
		t.Errorf("%d of %d requests failed across the daemon's restarts (%s); want 0", fail, ok+fail, res[0])
	}
	if got := strings.TrimSpace(box.Must("systemctl", "is-active", "berth.service")); got != "active" {
		t.Errorf("berth.service is %q after the restarts", got)
	}
	for _, port := range []string{"8081", "8083"} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := box.Exec(context.Background(), "curl", "-sf", "--max-time", "2", "http://127.0.0.1:"+port+"/"); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("127.0.0.1:%s is not served again 30s after the daemon's restarts", port)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	checkFrontUser(t, box)
}

// checkFrontUser: under berth.service (root) the front runs as the user
// provisioning created, berth_front, with CAP_NET_BIND_SERVICE only.
func checkFrontUser(t *testing.T, box *Box) {
	uid := strings.TrimSpace(box.Must("id", "-u", "berth_front"))
	pid := strings.TrimSpace(box.Must("cat", "/var/lib/berth/run/front/front.pid"))
	st := box.Must("cat", "/proc/"+pid+"/status")
	for _, want := range []string{"Uid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid + "\n",
		"CapPrm:\t0000000000000400\n", "CapEff:\t0000000000000400\n", "CapAmb:\t0000000000000400\n", "NoNewPrivs:\t1\n"} {
		if !strings.Contains(st, want) {
			t.Errorf("the front (pid %s) under berth.service: /proc status lacks %q:\n%s", pid, want, st)
		}
	}
}
