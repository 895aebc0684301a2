package alert

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/internal/state"
)

// receiver is a real HTTP webhook endpoint that fails the first failFirst
// requests with 503 and records the bodies it accepts.
type receiver struct {
	failFirst int32
	calls     atomic.Int32
	mu        sync.Mutex
	got       []wire
	srv       *httptest.Server
}

func newReceiver(t *testing.T, failFirst int32) *receiver {
	r := &receiver{failFirst: failFirst}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.calls.Add(1) <= r.failFirst {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		var p wire
		if err := json.NewDecoder(req.Body).Decode(&p); err != nil || req.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, p)
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) bodies() []wire {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]wire(nil), r.got...)
}

func webhook(url string, retries int) config.Alert {
	return config.Alert{Type: "webhook", URL: url, Retries: retries, Timeout: config.Duration{Duration: 5 * time.Second}, MinSeverity: "warning"}
}

func fixedClock() func() time.Time {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time { return t0 }
}

// run starts d and returns a function that closes it and waits for every
// queued message to be delivered.
func run(t *testing.T, d *Dispatcher) (finish func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- d.Run(context.Background()) }()
	return func() {
		d.Close()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return after Close")
		}
	}
}

func TestDedup(t *testing.T) {
	t.Parallel()
	type step struct {
		op, key, sev string
	}
	tests := []struct {
		name  string
		steps []step
		want  []string // state severity key, as delivered
	}{{
		name:  "fire twice delivers once",
		steps: []step{{"fire", "k", "warning"}, {"fire", "k", "warning"}},
		want:  []string{"firing warning k"},
	}, {
		name:  "resolve once, fire again after resolve",
		steps: []step{{"fire", "k", "warning"}, {"resolve", "k", ""}, {"resolve", "k", ""}, {"fire", "k", "warning"}},
		want:  []string{"firing warning k", "resolved warning k", "firing warning k"},
	}, {
		name:  "severity change fires again",
		steps: []step{{"fire", "k", "warning"}, {"fire", "k", "critical"}, {"fire", "k", "critical"}, {"fire", "k", "warning"}},
		want:  []string{"firing warning k", "firing critical k", "firing warning k"},
	}, {
		name:  "resolving an unknown key sends nothing",
		steps: []step{{"resolve", "nope", ""}},
		want:  nil,
	}, {
		name:  "keys are independent",
		steps: []step{{"fire", "a", "warning"}, {"fire", "b", "warning"}, {"resolve", "a", ""}},
		want:  []string{"firing warning a", "firing warning b", "resolved warning a"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t, 0)
			d, err := New([]config.Alert{webhook(rcv.srv.URL, 0)}, nil, slog.New(slog.DiscardHandler), WithClock(fixedClock()))
			if err != nil {
				t.Fatal(err)
			}
			finish := run(t, d)
			for _, s := range tt.steps {
				if s.op == "fire" {
					d.Fire(Alert{Key: s.key, Severity: s.sev, Summary: "disk filling"})
				} else {
					d.Resolve(s.key)
				}
			}
			finish()
			var got []string
			for _, b := range rcv.bodies() {
				got = append(got, b.State+" "+b.Severity+" "+b.Key)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("deliveries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWebhookRetriedThenDeliveredOnce(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 2)
	d, err := New([]config.Alert{webhook(rcv.srv.URL, 3)}, nil, slog.New(slog.DiscardHandler),
		WithBackoff(10*time.Millisecond, 50*time.Millisecond), WithClock(fixedClock()))
	if err != nil {
		t.Fatal(err)
	}
	finish := run(t, d)
	d.Fire(Alert{Key: "disk:/data:used", Severity: "critical", Summary: "/data is 93% full", Details: map[string]string{"used": "93%"}})
	finish()
	want := []wire{{
		Text: "[CRITICAL] " + d.host + ": /data is 93% full (used=93%)", State: "firing", Key: "disk:/data:used",
		Severity: "critical", Summary: "/data is 93% full", Details: map[string]string{"used": "93%"},
		Time: fixedClock()(), Host: d.host,
	}}
	if diff := cmp.Diff(want, rcv.bodies()); diff != "" {
		t.Errorf("webhook bodies (-want +got):\n%s", diff)
	}
	st := d.Stats()[0]
	if st.Sink != "webhook[0]" || st.Delivered != 1 || st.Retried != 2 || st.Failed != 0 || !strings.Contains(st.LastError, "503") {
		t.Errorf("stats = %+v; want 1 delivered after 2 retries", st)
	}
}

func TestFailuresAreCountedAndNeverBlock(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 1<<30) // never accepts
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	d, err := New([]config.Alert{webhook(rcv.srv.URL, 1)}, nil, logger,
		WithBackoff(time.Millisecond, time.Millisecond), WithQueueSize(2))
	if err != nil {
		t.Fatal(err)
	}
	// Not running yet: the queue of 2 fills and the rest are dropped, and
	// Fire returns at once all the same.
	for i := range 5 {
		d.Fire(Alert{Key: string(rune('a' + i)), Severity: "warning", Summary: "x"})
	}
	finish := run(t, d)
	finish()
	st := d.Stats()[0]
	if st.Queued != 2 || st.Dropped != 3 || st.Failed != 2 || st.Retried != 2 || st.Delivered != 0 {
		t.Errorf("stats = %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("logged %d warnings, want 1 (the first of the streak):\n%s", n, logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestFileExecAndJournalSinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "alerts.jsonl")
	stdinFile := filepath.Join(dir, "stdin.json")
	envFile := filepath.Join(dir, "env.txt")
	store, err := state.Open(filepath.Join(dir, "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg := []config.Alert{
		{Type: "file", Path: jsonl, Timeout: config.Duration{Duration: 5 * time.Second}, MinSeverity: "warning"},
		// The shell is the test's own receiver; berth runs argv without one.
		{Type: "exec", Command: []string{"/bin/sh", "-c", `cat >> "$0"; echo "$BERTH_ALERT_STATE $BERTH_ALERT_SEVERITY $BERTH_ALERT_KEY $BERTH_ALERT_APP" >> "$1"`, stdinFile, envFile},
			Timeout: config.Duration{Duration: 10 * time.Second}, MinSeverity: "critical"},
	}
	d, err := New(cfg, store, slog.New(slog.DiscardHandler), WithClock(fixedClock()))
	if err != nil {
		t.Fatal(err)
	}
	finish := run(t, d)
	d.Fire(Alert{Key: "k", Severity: "warning", App: "echo", Summary: "first"})
	d.Fire(Alert{Key: "k", Severity: "critical", App: "echo", Summary: "worse"})
	d.Resolve("k")
	finish()

	var lines []string
	for _, w := range readJSONLines(t, jsonl) {
		lines = append(lines, w.State+" "+w.Severity+" "+w.Summary)
	}
	if diff := cmp.Diff([]string{"firing warning first", "firing critical worse", "resolved critical worse"}, lines); diff != "" {
		t.Errorf("file sink (-want +got):\n%s", diff)
	}
	// The exec sink takes critical only: the critical fire and its resolve.
	env, _ := os.ReadFile(envFile)
	if diff := cmp.Diff("firing critical k echo\nresolved critical k echo\n", string(env)); diff != "" {
		t.Errorf("exec env (-want +got):\n%s", diff)
	}
	stdin := readJSONLines(t, stdinFile) // cat appends two JSON objects, each a line
	if len(stdin) != 2 || stdin[0].Summary != "worse" || stdin[1].State != "resolved" {
		t.Errorf("exec stdin = %+v", stdin)
	}
	events, err := store.Events("", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind+" "+e.Fields["severity"]+" "+e.App)
	}
	if diff := cmp.Diff([]string{"alert.fired warning echo", "alert.fired critical echo", "alert.resolved critical echo"}, kinds); diff != "" {
		t.Errorf("journal (-want +got):\n%s", diff)
	}
}

func TestExecTimeoutKillsTheCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	cfg := []config.Alert{{Type: "exec", MinSeverity: "warning", Timeout: config.Duration{Duration: 300 * time.Millisecond},
		Command: []string{"/bin/sh", "-c", `sleep 60 & echo $! > "$0"; wait`, pidFile}}}
	d, err := New(cfg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	finish := run(t, d)
	start := time.Now()
	d.Fire(Alert{Key: "k", Severity: "warning", Summary: "x"})
	finish()
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("a hung command held delivery for %v", el)
	}
	if st := d.Stats()[0]; st.Failed != 1 || !strings.Contains(st.LastError, "timed out") {
		t.Errorf("stats = %+v; want one failure that timed out", st)
	}
	// The sleep the command started was in its process group and is gone.
	data, _ := os.ReadFile(pidFile)
	if pid := strings.TrimSpace(string(data)); pid != "" {
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, err := os.Stat("/proc/" + pid); os.IsNotExist(err) || isZombie(pid) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the command's child %s survived the timeout", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func isZombie(pid string) bool {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return true
	}
	_, rest, _ := strings.Cut(string(data), ") ")
	return strings.HasPrefix(rest, "Z")
}

func readJSONLines(t *testing.T, path string) []wire {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []wire
	dec := json.NewDecoder(bufio.NewReader(f))
	for {
		var w wire
		if err := dec.Decode(&w); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, w)
	}
}
