package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// v2Version is the version stamped into the second berth binary the
// upgrade tests move to, so that the processes can be told apart.
const v2Version = "9.9.9-upgrade-test"

var (
	v2Once sync.Once
	v2Bin  string
	v2Err  error
)

// berthV2 builds berth once more with another -ldflags version string.
func berthV2(t *testing.T) string {
	t.Helper()
	v2Once.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			v2Err = err
			return
		}
		v2Bin = filepath.Join(filepath.Dir(berthBin), "berth-v2")
		build := exec.Command("go", "build", "-ldflags", "-X main.version="+v2Version, "-o", v2Bin, "./cmd/berth")
		build.Dir = filepath.Dir(strings.TrimSpace(string(out)))
		if b, err := build.CombinedOutput(); err != nil {
			v2Err = fmt.Errorf("building berth v2: %v\n%s", err, b)
		}
	})
	if v2Err != nil {
		t.Fatal(v2Err)
	}
	return v2Bin
}

// versionLines returns `berth version`'s lines by their first word.
func (e *env) versionLines() map[string]string {
	e.t.Helper()
	r := e.berth("version")
	if r.code != 0 {
		e.t.Fatalf("berth version: %s", r)
	}
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		k, v, _ := strings.Cut(l, ":")
		out[k] = strings.TrimSpace(v)
	}
	return out
}

// TestUpgradeUnderLoad upgrades a home to a second berth binary and back
// while clients loop against an app: no request fails and no connection
// is refused; the front is a new process each time, the daemon keeps its
// pid (it re-executes), the agent is the same process, and berth version
// shows the running daemon's and front's version on both sides; the
// upgrade says when the berth command's own binary is still the old one.
func TestUpgradeUnderLoad(t *testing.T) {
	t.Parallel()
	v2 := berthV2(t)
	e := newEnv(t)
	port := freePort(t)
	e.mustDeploy(app{name: "upg", version: "v1", mode: "good", listen: port})
	e.waitAnswer(port, "hello from v1")
	agent := e.liveInstance("upg").PID
	dpid := e.daemon.Process.Pid
	v1 := e.versionLines()
	if !strings.HasPrefix(v1["daemon"], "berth version ") || !strings.HasPrefix(v1["front"], "berth version ") {
		t.Fatalf("berth version before the upgrade shows no daemon or front: %v", v1)
	}
	ld := startFrontLoad(port, 4)
	defer ld.stop()
	slow := startSlowLoad(port, 2, 400*time.Millisecond)
	defer slow.stop()
	for i, bin := range []string{v2, berthBin, v2} {
		time.Sleep(300 * time.Millisecond)
		fpid := e.frontPID()
		stream := make(chan error, 1)
		go func() { stream <- sseToEnd(port, 2) }()
		time.Sleep(200 * time.Millisecond) // the stream runs on the old front
		r := e.berth("upgrade", bin)
		if r.code != 0 {
			t.Fatalf("upgrade %d to %s: %s\ndaemon log:\n%s", i, bin, r, e.daemonLog())
		}
		t.Logf("upgrade %d: %s", i, strings.TrimSpace(r.stdout))
		// The berth command run here stays the first build: it says so
		// when the upgrade went to the other one, and only then.
		if note := strings.Contains(r.stdout, "is still berth"); note != (bin == v2) {
			t.Errorf("upgrade %d to %s: note that the command's own binary is old: %v, want %v:\n%s", i, bin, note, bin == v2, r.stdout)
		}
		if got := e.frontPID(); got == fpid {
			t.Errorf("upgrade %d: front pid %d not replaced", i, got)
		}
		if err := <-stream; err != nil {
			t.Errorf("upgrade %d: an SSE stream begun on the old front: %v; want it kept to its end", i, err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	ld.stop()
	slow.stop()
	t.Logf("3 upgrades under load: %s; slow requests: %s", ld, slow)
	if ld.failed.Load() != 0 || ld.refused.Load() != 0 || ld.sent.Load() == 0 {
		t.Errorf("load across 3 upgrades: %s; want 0 failed, 0 refused", ld)
	}
	if slow.failed.Load() != 0 || slow.sent.Load() == 0 {
		t.Errorf("slow requests across 3 upgrades: %s; want 0 failed", slow)
	}
	got := e.versionLines()
	want := "berth version " + v2Version
	client := strings.SplitN(e.berth("version").stdout, "\n", 2)[0]
	if !strings.HasPrefix(got["daemon"], want) || !strings.HasPrefix(got["front"], want) || strings.Contains(client, v2Version) {
		t.Errorf("berth version after the upgrade: %v; want daemon and front on %s, the client on its own", got, v2Version)
	}
	if !strings.Contains(got["daemon"], fmt.Sprintf("pid %d", dpid)) {
		t.Errorf("daemon after the upgrade: %q; want the same pid %d (re-executed)", got["daemon"], dpid)
	}
	if pid := e.liveInstance("upg").PID; pid != agent || !alive(agent) {
		t.Errorf("agent pid %d after the upgrades, want %d still running", pid, agent)
	}
	e.waitAnswer(port, "hello from v1")
	e.mustDeploy(app{name: "upg", version: "v2", mode: "good", listen: port})
	e.waitAnswer(port, "hello from v2")
}

// TestUpgradeToBadBinaryKeepsServing tries binaries that fail at each
// check of berth upgrade, under load: each is abandoned with a clear
// message and exit 3, and the old front and daemon serve on, failing
// nothing.
func TestUpgradeToBadBinaryKeepsServing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	e.mustDeploy(app{name: "upbad", version: "v1", mode: "good", listen: port})
	e.waitAnswer(port, "hello from v1")
	dir := t.TempDir()
	version := "if [ \"$1\" = version ]; then echo 'berth version 0.0.0-fake'; exit 0; fi\n"
	cases := []struct{ name, script, want string }{
		{"exits at once", "exit 1\n", "failed its check"},
		{"never answers", "exec sleep 600\n", "did not answer within 10s"},
		{"front exits at once", version + "exit 1\n", "exited before answering"},
		{"front never answers", version + "exec sleep 600\n", "did not answer within 10s"},
	}
	ld := startFrontLoad(port, 4)
	defer ld.stop()
	fpid := e.frontPID()
	before := e.versionLines()
	for i, c := range cases {
		bin := filepath.Join(dir, fmt.Sprintf("bad%d", i))
		if err := os.WriteFile(bin, []byte("#!/bin/sh\n"+c.script), 0o755); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		r := e.berth("upgrade", bin)
		t.Logf("%s: exit %d after %s: %s", c.name, r.code, time.Since(start).Round(time.Millisecond), strings.TrimSpace(r.stderr))
		if r.code != 3 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: %s; want exit 3 and %q", c.name, r, c.want)
		}
		if got := e.frontPID(); got != fpid || !alive(fpid) {
			t.Errorf("%s: front pid %d, want %d serving on", c.name, got, fpid)
		}
	}
	ld.stop()
	t.Logf("4 abandoned upgrades under load: %s", ld)
	if ld.failed.Load() != 0 || ld.sent.Load() == 0 {
		t.Errorf("load across abandoned upgrades: %s; want 0 failed", ld)
	}
	if after := e.versionLines(); after["daemon"] != before["daemon"] || after["front"] != before["front"] {
		t.Errorf("berth version after abandoned upgrades:\n%v\nwant as before:\n%v", after, before)
	}
	if _, err := os.Stat(filepath.Join(e.home, "run", "front", "next.sock")); err == nil {
		t.Errorf("an abandoned upgrade left next.sock behind")
	}
	e.waitAnswer(port, "hello from v1")
}

// startSlowLoad is clients looping on /slow, each request in flight for
// d, so an upgrade always finds some on the old front.
func startSlowLoad(port, n int, d time.Duration) *frontLoad {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	l := &frontLoad{cancel: cancel}
	url := fmt.Sprintf("http://127.0.0.1:%d/slow?ms=%d", port, d.Milliseconds())
	for range n {
		c := newClient(10 * time.Second)
		l.done.Go(func() {
			defer c.CloseIdleConnections()
			for ctx.Err() == nil && l.sent.Load() < 10_000 {
				l.sent.Add(1)
				code, body, err := get(c, url)
				if err == nil && code == 200 && strings.HasPrefix(body, "slow ") {
					continue
				}
				l.failed.Add(1)
				l.mu.Lock()
				l.firstErrs = append(l.firstErrs, fmt.Sprintf("%d %q %v", code, body, err))
				l.mu.Unlock()
			}
		})
	}
	return l
}

// sseToEnd reads an SSE stream of the sample agent that lasts secs and
// returns nil when it got the stream's end event.
func sseToEnd(port, secs int) error {
	c := newClient(time.Duration(secs+20) * time.Second)
	defer c.CloseIdleConnections()
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/events?seconds=%d", port, secs))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "event: end") {
		return fmt.Errorf("stream ended without its end event after %d bytes: %v", len(b), err)
	}
	return nil
}
