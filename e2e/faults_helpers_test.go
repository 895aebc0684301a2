package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// flakyAgent is a small HTTP agent in Python that fails a fixed share of
// real requests: with ERROR_PERCENT = 30, three of every ten GET / answer
// 500. /up always answers 200, so only traffic shows the fault. SIGTERM
// ends it after the request in flight.
const flakyAgent = `import http.server, os, signal, socketserver, sys, threading

version = os.environ.get("VERSION", "v0")
percent = int(os.environ.get("ERROR_PERCENT", "0"))
lock = threading.Lock()
count = [0]

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, code, body):
        data = (body + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/up":
            return self.answer(200, "ok")
        with lock:
            count[0] += 1
            n = count[0]
        if n % 10 < percent // 10:
            return self.answer(500, "error from " + version)
        self.answer(200, "hello from " + version)

    def log_message(self, *args):
        pass

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

srv = Server((os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])), Handler)
signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=srv.shutdown).start())
print("flaky agent", version, "serving, error percent", percent, flush=True)
srv.serve_forever()
print("stopped", flush=True)
`

// writeAgent writes a script agent into the env's home and returns its path.
func (e *env) writeAgent(name, text string) string {
	e.t.Helper()
	dir := filepath.Join(e.home, "agents")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o755); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// events returns the app's events, oldest first, from `berth events --json`.
func (e *env) events(name string) []eventLine {
	e.t.Helper()
	r := e.berth("events", name, "--json", "-n", "10000")
	if r.code != 0 {
		e.t.Fatalf("berth events %s: %s", name, r)
	}
	var out []eventLine
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	for dec.More() {
		var ev eventLine
		if err := dec.Decode(&ev); err != nil {
			e.t.Fatalf("berth events --json: %v: %s", err, r.stdout)
		}
		out = append(out, ev)
	}
	return out
}

// eventLine is one line of `berth events --json`, decoded as a client would.
type eventLine struct {
	Seq     uint64            `json:"seq"`
	App     string            `json:"app"`
	Kind    string            `json:"kind"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields"`
}

// deploymentEvents returns the events of one deployment.
func deploymentEvents(evs []eventLine, id string) []eventLine {
	var out []eventLine
	for _, ev := range evs {
		if ev.Fields["deployment"] == id {
			out = append(out, ev)
		}
	}
	return out
}

// finishedEvent returns the message of a deployment's deploy.finished event.
func finishedEvent(t *testing.T, evs []eventLine, id string) string {
	t.Helper()
	for _, ev := range deploymentEvents(evs, id) {
		if ev.Kind == "deploy.finished" {
			return ev.Message
		}
	}
	t.Errorf("no deploy.finished event for deployment %s", id)
	return ""
}

// taggedPIDs returns the pids of processes whose environment holds
// FAULT_TAG=tag: the agents one test started, whoever their parent is now.
// It reads /proc; a process that ends while it looks is skipped.
func taggedPIDs(tag string) []int {
	want := []byte("FAULT_TAG=" + tag + "\x00")
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil || !bytes.Contains(append(b, 0), want) || !alive(pid) {
			continue
		}
		out = append(out, pid)
	}
	return out
}

// instancePIDs returns the pids that `berth status` reports for an app.
func (e *env) instancePIDs(name string) map[int]string {
	out := map[int]string{}
	for _, in := range e.status(name).Instances {
		if in.PID > 0 {
			out[in.PID] = in.Color + " " + in.Release
		}
	}
	return out
}
