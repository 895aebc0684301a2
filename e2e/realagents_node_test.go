package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sseServer is a Node HTTP server with a Server-Sent Events stream on
// /events: one event every 100 ms, "data: <version> <n>". On SIGTERM it
// ends its streams and exits once its connections are closed.
const sseServer = `const http = require('http');
const version = process.env.VERSION;
const streams = new Set();
const server = http.createServer((req, res) => {
  if (req.url === '/up') { res.end('ok\n'); return; }
  if (req.url === '/events') {
    res.writeHead(200, {'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache'});
    streams.add(res);
    let i = 0;
    const t = setInterval(() => { res.write('id: ' + i + '\ndata: ' + version + ' ' + i + '\n\n'); i++; }, 100);
    req.on('close', () => { clearInterval(t); streams.delete(res); });
    return;
  }
  res.end('hello from ' + version + '\n');
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('node', version, 'listening on', process.env.PORT));
process.on('SIGTERM', () => {
  console.log('SIGTERM: ending', streams.size, 'streams');
  for (const r of streams) r.end();
  server.close(() => process.exit(0));
});
`

// sseEvent is one event read from a stream, or how the stream ended.
type sseEvent struct {
	data string
	at   time.Time
	err  error // set on the last one: how the stream ended (nil: EOF)
}

// readSSE opens url and sends each complete event's data on the channel,
// then one sseEvent with the error that ended the stream.
func readSSE(ctx context.Context, url string) (<-chan sseEvent, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	ch := make(chan sseEvent, 1024)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			case line == "" && data != "":
				ch <- sseEvent{data: data, at: time.Now()}
				data = ""
			}
		}
		ch <- sseEvent{err: sc.Err(), at: time.Now()}
		close(ch)
	}()
	return ch, nil
}

// TestNodeSSEAcrossDeploy deploys a Node server with an SSE stream and
// deploys a new release while a client holds a stream open: the stream
// keeps flowing from the old version after the switch (it is drained, not
// cut at once), new streams come from the new version, and the old
// stream ends at drain_timeout, when the client reconnects to the new one.
func TestNodeSSEAcrossDeploy(t *testing.T) {
	t.Parallel()
	needBinary(t, "node")
	name := ownUser(t, "sse")
	e := newEnv(t)
	port := freePort(t)
	spec := func(version string) map[string]string {
		return map[string]string{
			"server.js": sseServer,
			"berth.toml": fmt.Sprintf(`version = 1
name = %q

[run]
command = ["node", "server.js"]
env = { VERSION = %q }
stop_timeout = "5s"

[service]
listen = "127.0.0.1:%d"

[deploy]
verify_for = "1s"
drain_timeout = "3s"
max_latency_rise = 0.0

[[checks]]
name = "up"
type = "http"
path = "/up"
interval = "200ms"
timeout = "1s"
start_period = "5s"
`, name, version, port)}
	}
	e.deployFile(name, e.release(name, "v1", spec("v1")))
	e.waitAnswer(port, "hello from v1")
	url := fmt.Sprintf("http://127.0.0.1:%d/events", port)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	old, err := readSSE(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-old; !strings.HasPrefix(ev.data, "v1 ") {
		t.Fatalf("first event %+v, want one from v1", ev)
	}

	e.deployFile(name, e.release(name, "v2", spec("v2")))
	switched := time.Now() // the deploy returns after verify and drain
	fresh, err := readSSE(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-fresh; !strings.HasPrefix(ev.data, "v2 ") {
		t.Errorf("a stream opened after the deploy starts with %+v, want v2", ev)
	}

	var n int
	var last sseEvent
	var end sseEvent
	for ev := range old {
		if ev.data == "" {
			end = ev
			break
		}
		if !strings.HasPrefix(ev.data, "v1 ") {
			t.Errorf("the old stream carried %q", ev.data)
		}
		n++
		last = ev
	}
	d := e.latest(name)
	t.Logf("old stream: %d more events from v1, last %q %.1fs before the deploy returned; ended with %v; deploy: %d drained, %d cut",
		n, last.data, switched.Sub(last.at).Seconds(), end.err, d.Drained, d.Cut)
	for _, s := range d.Steps {
		if strings.HasPrefix(s.Name, "drain") || strings.HasPrefix(s.Name, "switch") {
			t.Logf("step %s: %s", s.Name, s.Detail)
		}
	}
	if n < 10 {
		t.Errorf("the old stream carried only %d events after the first; it must flow until its drain ends", n)
	}
	again, err := readSSE(ctx, url)
	if err != nil {
		t.Fatalf("reconnecting: %v", err)
	}
	if ev := <-again; !strings.HasPrefix(ev.data, "v2 ") {
		t.Errorf("the reconnected stream starts with %+v, want v2", ev)
	}
	cancel()
}
