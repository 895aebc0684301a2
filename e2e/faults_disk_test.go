package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/state"
)

// chattyAgent serves HTTP like the sample agent and prints a numbered line
// every 5ms, so its log grows while the disk fills.
const chattyAgent = `import http.server, os, signal, socketserver, threading, time

version = os.environ.get("VERSION", "v0")

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = ("ok" if self.path == "/up" else "hello from " + version) + "\n"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

def chatter():
    n = 0
    while True:
        n += 1
        print("tick %d %s" % (n, "x" * 200), flush=True)
        time.sleep(0.005)

srv = Server((os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])), Handler)
signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=srv.shutdown).start())
threading.Thread(target=chatter, daemon=True).start()
srv.serve_forever()
`

// mountHome mounts a tmpfs of size as a fresh berth home, or skips the test
// when this process may not mount. The unmount runs after the env's cleanup.
func mountHome(t *testing.T, size string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "be2e-full-")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tmpfs", dir).CombinedOutput()
	if err != nil {
		_ = os.Remove(dir)
		t.Skipf("cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
		_ = os.Remove(dir)
	})
	return dir
}

// fill writes path until the file system is full and returns how much it
// wrote.
func fill(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n int64
	for _, chunk := range []int{1 << 20, 4 << 10, 1} {
		buf := make([]byte, chunk)
		for i := 0; i < 1<<16; i++ {
			w, err := f.Write(buf)
			n += int64(w)
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			if err != nil {
				t.Fatalf("filling the disk: %v", err)
			}
		}
	}
	return n
}

// TestDiskFullUnderHome fills a 64 MB home while an agent logs and serves:
// the live version keeps serving, a deploy into the full disk fails with a
// clear error and changes nothing, and after space is freed logging
// resumes and a deploy goes live.
func TestDiskFullUnderHome(t *testing.T) {
	t.Parallel()
	home := mountHome(t, "64m")
	e := &env{t: t, home: home, apps: map[string]bool{}, pids: map[int]bool{}}
	t.Cleanup(e.cleanup)
	e.startDaemon()
	port := freePort(t)
	a := app{name: "full", version: "v1", listen: port,
		command: []string{"python3", e.writeAgent("chatty.py", chattyAgent)}}
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v1")
	before := e.liveInstance("full")

	ld := startLoad(port, 2)
	defer ld.stop()
	wrote := fill(t, filepath.Join(home, "fill"))
	t.Logf("filled the home with %d MB", wrote>>20)
	// The log now drops lines: the agent's status says so.
	e.eventually(10*time.Second, "dropped log lines counted", func() error {
		if in := e.liveInstance("full"); in.LogDropped == 0 {
			return fmt.Errorf("log_dropped = 0 with a full disk (log lines %d)", in.LogDropped)
		}
		return nil
	})

	a.version = "v2"
	p := filepath.Join(home, "src", "full-v1", "berth.toml") // no room for a new spec file
	if err := os.WriteFile(p, []byte(a.spec()), 0o644); err != nil {
		t.Logf("rewriting the spec on the full disk: %v (deploying v1's spec again)", err)
	}
	r := e.berth("deploy", "-f", p)
	t.Logf("deploy into the full disk: %s", r)
	if r.code == 0 {
		t.Errorf("a deploy into a full disk succeeded: %s", r)
	}
	if msg := r.stderr + r.stdout; !strings.Contains(msg, "no space left on device") {
		t.Errorf("deploy into the full disk does not say the disk is full: %s", r)
	}
	if left, _ := filepath.Glob(filepath.Join(home, "apps", "full", "releases", ".tmp-*")); len(left) > 0 {
		t.Errorf("the failed install left %v", left)
	}
	time.Sleep(time.Second) // the live version serves on with the disk full
	live := e.liveInstance("full")
	if live.PID != before.PID || live.Release != before.Release {
		t.Errorf("live is pid %d %s after the failed deploy, want %d %s", live.PID, live.Release, before.PID, before.Release)
	}
	ld.stop()
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests to the live version failed while the disk was full; first: %v", f, ld.sent.Load(), ld.errs())
	}
	t.Logf("load while full: %d requests, %d failed", ld.sent.Load(), ld.failed.Load())

	last := lastTick(e)
	if err := os.Remove(filepath.Join(home, "fill")); err != nil {
		t.Fatal(err)
	}
	e.eventually(15*time.Second, "logging resumes after space is freed", func() error {
		if n := lastTick(e); n <= last {
			return fmt.Errorf("last logged tick %d, %d before the disk was freed", n, last)
		}
		return nil
	})
	t.Logf("last tick logged while full: %d; now: %d; dropped: %d", last, lastTick(e), e.liveInstance("full").LogDropped)

	d := e.latest("full")
	if d.Outcome != state.OutcomeFailed || !strings.Contains(d.Reason, "no space left on device") {
		t.Errorf("history of the deploy into the full disk: %s %q", d.Outcome, d.Reason)
	}
	if msg := finishedEvent(t, e.events("full"), d.ID); !strings.Contains(msg, "no space left on device") {
		t.Errorf("deploy.finished event %q does not say the disk was full", msg)
	}

	a.version = "v3"
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v3")
}

// lastTick returns the number of the newest "tick N" line in the app's log.
func lastTick(e *env) int {
	r := e.berth("logs", "full", "-n", "20")
	n := 0
	for _, l := range strings.Split(r.stdout, "\n") {
		_, rest, ok := strings.Cut(l, "tick ")
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, " ")
		if v, err := strconv.Atoi(num); err == nil && v > n {
			n = v
		}
	}
	return n
}
