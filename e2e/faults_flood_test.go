package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// floodAgent serves HTTP like chattyAgent and, once the file FLOOD_TRIGGER
// exists, writes numbered 200-byte lines to stdout at up to FLOOD_MBPS MB/s
// for FLOOD_SECONDS, then writes how many lines it wrote (each write
// returned) into FLOOD_COUNT.
const floodAgent = `import http.server, os, signal, socketserver, sys, threading, time

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

def flood():
    trigger = os.environ["FLOOD_TRIGGER"]
    while not os.path.exists(trigger):
        time.sleep(0.05)
    rate = float(os.environ["FLOOD_MBPS"]) * 1e6
    seconds = float(os.environ["FLOOD_SECONDS"])
    pad = "x" * 180
    out = sys.stdout.buffer
    n, sent, start = 0, 0, time.monotonic()
    while time.monotonic() - start < seconds:
        chunk = "".join("flood %09d %s\n" % (n + i, pad) for i in range(500)).encode()
        out.write(chunk)
        out.flush()
        n += 500
        sent += len(chunk)
        ahead = sent / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
    took = time.monotonic() - start
    with open(os.environ["FLOOD_COUNT"], "w") as f:
        f.write("%d %d %.3f\n" % (n, sent, took))

srv = Server((os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])), Handler)
signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=srv.shutdown).start())
threading.Thread(target=flood, daemon=True).start()
print("flood agent", version, "serving", flush=True)
srv.serve_forever()
`

// cpuTicks returns the user+system clock ticks pid has used so far.
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return u + k
}

// logBytes sums the sizes of the log file and its rotated files.
func logBytes(logPath string) int64 {
	matches, _ := filepath.Glob(logPath + "*")
	var n int64
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// TestLogFlood: an agent writes 50 MB/s of log lines for 10 s while it
// serves under load. The live version keeps serving, `berth status`
// answers, the log files stay within max_total, and every line the agent
// wrote is either in log_lines or in log_dropped.
func TestLogFlood(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	trigger, count := filepath.Join(e.home, "flood.go"), filepath.Join(e.home, "flood.count")
	a := app{name: "flood", version: "v1", listen: port,
		command: []string{"python3", e.writeAgent("flood.py", floodAgent)},
		env: map[string]string{"FLOOD_TRIGGER": trigger, "FLOOD_COUNT": count,
			"FLOOD_MBPS": "50", "FLOOD_SECONDS": "10"}}
	e.write(a)
	p := filepath.Join(e.home, "src", "flood-v1", "berth.toml")
	const maxTotal = 40 << 20
	spec := a.spec() + "\n[logs]\nmax_size = \"8MiB\"\nkeep = 3\nmax_total = \"40MiB\"\n"
	if err := os.WriteFile(p, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	e.apps["flood"] = true
	if r := e.berth("deploy", "-f", p); r.code != 0 {
		t.Fatalf("deploy: %s", r)
	}
	e.notePIDs("flood")
	e.waitAnswer(port, "hello from v1")
	live := e.liveInstance("flood")
	before := live.LogLines + live.LogDropped

	ld := startLoad(port, 4)
	defer ld.stop()
	keeper, daemon := e.keeperPID(), e.daemon.Process.Pid
	k0, d0, a0, t0 := cpuTicks(keeper), cpuTicks(daemon), cpuTicks(live.PID), time.Now()
	if err := os.WriteFile(trigger, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var lat []time.Duration
	var peak int64
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		start := time.Now()
		if r := e.berth("status", "flood"); r.code != 0 {
			t.Errorf("berth status during the flood: %s", r)
		}
		lat = append(lat, time.Since(start))
		peak = max(peak, logBytes(live.LogPath))
		if _, err := os.Stat(count); err == nil {
			break
		}
	}
	wall := time.Since(t0).Seconds()
	k1, d1, a1 := cpuTicks(keeper), cpuTicks(daemon), cpuTicks(live.PID)
	ld.stop()

	b, err := os.ReadFile(count)
	if err != nil {
		t.Fatalf("the flood did not finish in 15s: %v", err)
	}
	var lines, bytes uint64
	var took float64
	if _, err := fmt.Sscan(string(b), &lines, &bytes, &took); err != nil {
		t.Fatalf("reading %s: %v", count, err)
	}
	var got uint64
	e.eventually(10*time.Second, "every line written or counted as dropped", func() error {
		in := e.liveInstance("flood")
		got = in.LogLines + in.LogDropped - before
		if got != lines {
			return fmt.Errorf("agent wrote %d lines, log_lines+log_dropped rose by %d", lines, got)
		}
		return nil
	})
	final := e.liveInstance("flood")
	slices.Sort(lat)
	t.Logf("flood: %d lines, %.1f MB in %.1fs: %.0f lines/s, %.1f MB/s; log_dropped %d",
		lines, float64(bytes)/1e6, took, float64(lines)/took, float64(bytes)/1e6/took, final.LogDropped)
	t.Logf("berth status during the flood: %d calls, median %v, slowest %v", len(lat), lat[len(lat)/2], lat[len(lat)-1])
	t.Logf("CPU over %.1fs: keeper %.0f%%, daemon %.0f%%, agent %.0f%% of one core; log files peak %.1f MB (max_total %d MB)",
		wall, pct(k1-k0, wall), pct(d1-d0, wall), pct(a1-a0, wall), float64(peak)/1e6, maxTotal>>20)
	t.Logf("load: %d requests, %d failed", ld.sent.Load(), ld.failed.Load())
	files, _ := filepath.Glob(live.LogPath + "*")
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			t.Logf("log file %s: %d bytes", filepath.Base(f), fi.Size())
		}
	}
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed during the flood; first: %v", f, ld.sent.Load(), ld.errs())
	}
	if peak > maxTotal {
		t.Errorf("log files reached %d bytes, above max_total %d", peak, maxTotal)
	}
	if final.PID != live.PID {
		t.Errorf("the live instance changed during the flood: pid %d, was %d", final.PID, live.PID)
	}
}

// pct is ticks (USER_HZ, 100 on Linux) over wall seconds, in percent of one core.
func pct(ticks int64, wall float64) float64 {
	return float64(ticks) / 100 / wall * 100
}
