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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// upgradeVersion is stamped into the second berth build the box upgrades to.
const upgradeVersion = "9.9.9-systemd-upgrade"

// Files inside the box the load helper and the host agree on (under /srv:
// the overlay, the same path from both sides).
const (
	loadReady = "/srv/upgrade-load.ready"
	loadStop  = "/srv/upgrade-load.stop"
	loadPorts = "BERTH_E2E_LOAD_PORTS"
)

// exitsAsFront is a Go program that passes berth upgrade's first check
// (`version --client` prints a berth version) and exits 1 when run as
// anything else, as `front --next` is: the new front dies before it
// answers.
const exitsAsFront = `package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println("berth version 0.0.0-exits-as-front")
		return
	}
	fmt.Fprintln(os.Stderr, "exits-as-front: refusing to run as", os.Args[1:])
	os.Exit(1)
}
`

// testUpgrade runs berth upgrade against the daemon that systemd runs as
// berth.service, under load on the three live apps (web: socket-activated,
// embedded runtime; plain: no socket unit; bg: agents are systemd units):
// first to a binary whose front exits at once (refused, nothing replaced),
// then to a second berth build. Nothing may fail or be refused; the daemon
// keeps its pid (it re-executes), systemd sees the same main pid with no
// restart and the unit active, berth version shows the new build on both
// sides, and deploys and a systemctl restart work afterwards.
func testUpgrade(t *testing.T, box *Box) {
	v2 := buildBerthWith(t, "-X main.version="+upgradeVersion)
	box.Install(v2, "/usr/local/bin/berth-v2", 0o755)
	box.Install(buildExitsAsFront(t), "/usr/local/bin/berth-exits-as-front", 0o755)
	installSelf(t, box)
	before := unitProps(box)
	if before["ActiveState"] != "active" || before["MainPID"] == "0" {
		t.Fatalf("berth.service before the upgrade: %v", before)
	}
	v1 := boxVersion(t, box)
	t.Logf("before: %v; berth.service %v", v1, before)

	load := startBoxLoad(t, box, "8081", "8082", "8083")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	out, err := box.Exec(ctx, "berth", "upgrade", "/usr/local/bin/berth-exits-as-front")
	t.Logf("upgrade to a binary that exits as front (%v): %v\n%s", time.Since(start).Round(time.Millisecond), err, out)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(out, "exited before answering") {
		t.Errorf("upgrade to a front that exits at once: %v; want exit 3 and \"exited before answering\"", err)
	}
	if got := boxVersion(t, box); got["daemon"] != v1["daemon"] || got["front"] != v1["front"] {
		t.Errorf("after the refused upgrade berth version shows\n%v\nwant as before\n%v", got, v1)
	}
	if got := unitProps(box); got["MainPID"] != before["MainPID"] || got["NRestarts"] != before["NRestarts"] || got["ActiveState"] != "active" {
		t.Errorf("berth.service after the refused upgrade: %v; want as before: %v", got, before)
	}

	// To the second build, then back to the first: the second upgrade
	// retires a front that this same daemon process started before it
	// re-executed, which the new image must reap.
	steps := []struct{ bin, version string }{
		{"/usr/local/bin/berth-v2", upgradeVersion},
		{"/usr/local/bin/berth", strings.TrimPrefix(strings.SplitN(v1["daemon"], ",", 2)[0], "berth version ")},
	}
	var took []string
	var got map[string]string
	prev := v1
	for i, step := range steps {
		time.Sleep(500 * time.Millisecond)
		start = time.Now()
		out, err = box.Exec(ctx, "berth", "upgrade", step.bin)
		d := time.Since(start).Round(time.Millisecond)
		took = append(took, d.String())
		t.Logf("upgrade %d to %s (%v):\n%s", i, step.version, d, out)
		if err != nil {
			t.Fatalf("berth upgrade: %v\njournal:\n%s", err, tail([]byte(box.Must("journalctl", "-u", "berth.service", "-o", "cat", "--no-pager")), 30))
		}
		got = checkUpgraded(t, box, prev, before, step.version)
		prev = got
	}
	time.Sleep(time.Second) // load on the new front and daemon too
	res := load.stop()
	fmt.Printf("FIGURE berth upgrade under berth.service: a refused upgrade to a front that exits at once, then 2 upgrades (%s); load: %s\n",
		strings.Join(took, ", "), strings.Join(res, "; "))
	for _, r := range res {
		if !strings.Contains(r, " failed=0 refused=0 ") || strings.Contains(r, " sent=0 ") {
			t.Errorf("load across the upgrades: %s; want requests sent, 0 failed, 0 refused", r)
		}
	}

	// The upgraded daemon deploys: blue-green of the systemd runtime's app.
	t.Logf("deploy bg v2 after the upgrade:\n%s", box.Must("berth", "deploy", "-f", "/srv/bg/v2/berth.toml"))
	wantServes(t, box, "v2")

	// systemd can still stop and start the unit: ExecStart names the
	// binary provision wrote, so the daemon is that build again, and it
	// adopts the upgraded front as it is.
	box.Must("systemctl", "restart", "berth.service")
	restarted := boxVersion(t, box)
	t.Logf("after systemctl restart: %v; berth.service %v", restarted, unitProps(box))
	if pidOf(restarted["daemon"]) == pidOf(got["daemon"]) || restarted["front"] != got["front"] {
		t.Errorf("after systemctl restart: %v; want the daemon from ExecStart's binary and the upgraded front %q kept", restarted, got["front"])
	}
	wantServes(t, box, "v2")
}

// checkUpgraded checks the box after one berth upgrade from prev (berth
// version's lines before it) to version, and returns berth version's lines.
func checkUpgraded(t *testing.T, box *Box, prev, unit map[string]string, version string) map[string]string {
	t.Helper()
	got := boxVersion(t, box)
	want := "berth version " + version + ","
	if !strings.HasPrefix(got["daemon"], want) || !strings.HasPrefix(got["front"], want) {
		t.Errorf("berth version after the upgrade: %v; want daemon and front on %s", got, version)
	}
	if !strings.HasSuffix(got["daemon"], "pid "+unit["MainPID"]) {
		t.Errorf("daemon after the upgrade: %q; want berth.service's main pid %s (re-executed)", got["daemon"], unit["MainPID"])
	}
	if got["front"] == prev["front"] {
		t.Errorf("front after the upgrade: %q; want a new process", got["front"])
	}
	after := waitUnitSettled(t, box)
	t.Logf("after: %v; berth.service %v", got, after)
	if after["MainPID"] != unit["MainPID"] || after["NRestarts"] != unit["NRestarts"] ||
		after["ExecMainStartTimestampMonotonic"] != unit["ExecMainStartTimestampMonotonic"] ||
		after["ActiveState"] != "active" || after["SubState"] != "running" {
		t.Errorf("berth.service after the upgrade: %v; want active/running, the same main process (%v) and no restart",
			after, unit)
	}
	// The old front drains and exits, and someone reaps it: a zombie
	// would stay in berth.service for the daemon's life.
	if pid := pidOf(prev["front"]); pid != 0 {
		if state := waitGone(box, pid, 40*time.Second); state != "" {
			t.Errorf("the old front (%s) is still there 40s after the upgrade: state %s", prev["front"], state)
		}
	}
	return got
}

// pidOf returns the pid at the end of a `berth version` line.
func pidOf(line string) int {
	_, p, _ := strings.Cut(line, ", pid ")
	n, _ := strconv.Atoi(p)
	return n
}

// waitGone waits for pid to vanish inside the box and returns "" then, or
// its state letter from /proc/PID/stat (Z: a zombie nobody reaps).
func waitGone(box *Box, pid int, limit time.Duration) string {
	deadline := time.Now().Add(limit)
	for {
		out, err := box.Exec(context.Background(), "cat", fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return ""
		}
		_, rest, _ := strings.Cut(out, ") ")
		if time.Now().After(deadline) {
			return strings.SplitN(rest, " ", 2)[0]
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// unitProps reads berth.service's state from systemd.
func unitProps(box *Box) map[string]string {
	out := box.Must("systemctl", "show", "berth.service", "-p", "MainPID,NRestarts,ActiveState,SubState,ExecMainStartTimestampMonotonic")
	props := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(l, "=")
		props[k] = v
	}
	return props
}

// waitUnitSettled returns berth.service's state once systemd no longer
// shows it reloading (the re-executed daemon says READY=1 after its
// restore), for at most 30 s.
func waitUnitSettled(t *testing.T, box *Box) map[string]string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		p := unitProps(box)
		if p["SubState"] != "reload" || time.Now().After(deadline) {
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// boxVersion returns `berth version`'s lines inside the box by first word.
func boxVersion(t *testing.T, box *Box) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(box.Must("berth", "version")), "\n") {
		k, v, _ := strings.Cut(l, ":")
		out[k] = strings.TrimSpace(v)
	}
	if !strings.HasPrefix(out["daemon"], "berth version ") || !strings.HasPrefix(out["front"], "berth version ") {
		t.Fatalf("berth version shows no daemon or front: %v", out)
	}
	return out
}

// buildBerthWith builds berth with extra -ldflags.
func buildBerthWith(t *testing.T, ldflags string) string {
	t.Helper()
	out, err := osexec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "berth")
	build := osexec.Command("go", "build", "-ldflags", ldflags, "-o", bin, "./cmd/berth")
	build.Dir = filepath.Dir(strings.TrimSpace(string(out)))
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building berth with %s: %v\n%s", ldflags, err, b)
	}
	return bin
}

// buildExitsAsFront builds the exitsAsFront program.
func buildExitsAsFront(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(exitsAsFront), 0o644); err != nil {
		t.Fatal(err)
	}
	build := osexec.Command("go", "build", "-o", "exits-as-front", "main.go")
	build.Dir = dir
	build.Env = append(os.Environ(), "GO111MODULE=off", "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building exits-as-front: %v\n%s", err, b)
	}
	return filepath.Join(dir, "exits-as-front")
}

// installSelf copies this test binary into the box, to run helpers there.
func installSelf(t *testing.T, box *Box) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	box.Install(self, "/usr/local/bin/berth-e2e-systemd.test", 0o755)
}

// boxLoad is TestUpgradeLoadInBox running inside the box.
type boxLoad struct {
	box  *Box
	out  chan string
	once sync.Once
	res  []string
}

// startBoxLoad starts the load helper inside the box against ports and
// waits until every port has answered once.
func startBoxLoad(t *testing.T, box *Box, ports ...string) *boxLoad {
	t.Helper()
	for _, f := range []string{loadReady, loadStop} {
		_ = os.Remove(filepath.Join(box.Root, f))
	}
	l := &boxLoad{box: box, out: make(chan string, 1)}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := box.ExecEnv(ctx, []string{inBoxEnv + "=1", loadPorts + "=" + strings.Join(ports, ",")},
			"/usr/local/bin/berth-e2e-systemd.test", "-test.run", "^TestUpgradeLoadInBox$", "-test.v", "-test.count=1")
		if err != nil {
			out += "\nERROR: " + err.Error()
		}
		l.out <- out
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(box.Root, loadReady)); err == nil {
			break
		}
		select {
		case out := <-l.out:
			t.Fatalf("the load helper ended before every port answered:\n%s", out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the load helper saw no answer on every port of %v in 30s", ports)
		}
	}
	t.Cleanup(func() { l.stop() })
	return l
}

// stop ends the load and returns its LOAD lines, one per port.
func (l *boxLoad) stop() []string {
	l.once.Do(func() {
		l.box.WriteFile(loadStop, nil, 0o644)
		out := <-l.out
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "LOAD ") {
				l.res = append(l.res, strings.TrimPrefix(line, "LOAD "))
			}
		}
		if len(l.res) == 0 || strings.Contains(out, "ERROR:") {
			l.res = append(l.res, "helper failed: failed=? refused=? "+out)
		}
	})
	return l.res
}

// TestUpgradeLoadInBox is the load testUpgrade runs inside the box: per
// port of BERTH_E2E_LOAD_PORTS, two keep-alive clients and one that
// opens a new connection per request (so a refused connection shows),
// until loadStop appears (at most 2 minutes, 200,000 requests a
// client). It prints one LOAD line per port.
func TestUpgradeLoadInBox(t *testing.T) {
	if os.Getenv(inBoxEnv) != "1" || os.Getenv(loadPorts) == "" {
		t.Skip("runs inside the nspawn box only (TestSystemd/upgrade starts it there)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ports := strings.Split(os.Getenv(loadPorts), ",")
	counts := make([]*portLoad, len(ports))
	var wg, ready sync.WaitGroup
	for i, p := range ports {
		counts[i] = &portLoad{url: "http://127.0.0.1:" + p + "/"}
		for _, keepAlive := range []bool{true, true, false} {
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: !keepAlive}}
			ready.Add(1)
			wg.Go(func() { counts[i].run(ctx, c, ready.Done) })
		}
	}
	ready.Wait()
	if err := os.WriteFile(loadReady, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for ctx.Err() == nil {
		if _, err := os.Stat(loadStop); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	for i, p := range ports {
		fmt.Printf("LOAD port=%s %s\n", p, counts[i])
	}
}

// portLoad counts one port's requests. Safe for concurrent use.
type portLoad struct {
	url                   string
	sent, failed, refused atomic.Int64
	mu                    sync.Mutex
	errs                  []string
}

// run requests l.url in a loop until ctx ends; ready is called after the
// first answer (or the first failure, so the caller never waits forever).
func (l *portLoad) run(ctx context.Context, c *http.Client, ready func()) {
	once := sync.OnceFunc(ready)
	defer once()
	defer c.CloseIdleConnections()
	for n := 0; n < 200_000; n++ {
		req, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, l.url, nil)
		if ctx.Err() != nil {
			return
		}
		l.sent.Add(1)
		resp, err := c.Do(req)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		once()
		if err == nil {
			continue
		}
		l.failed.Add(1)
		if errors.Is(err, syscall.ECONNREFUSED) {
			l.refused.Add(1)
		}
		l.mu.Lock()
		if len(l.errs) < 3 {
			l.errs = append(l.errs, err.Error())
		}
		l.mu.Unlock()
	}
}

func (l *portLoad) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return "sent=" + strconv.FormatInt(l.sent.Load(), 10) + " failed=" + strconv.FormatInt(l.failed.Load(), 10) +
		" refused=" + strconv.FormatInt(l.refused.Load(), 10) + " errs=" + fmt.Sprintf("%q", l.errs)
}
