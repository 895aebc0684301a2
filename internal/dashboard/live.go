package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/logs"
)

// keepAlive is how often an idle stream sends a comment, so proxies and
// browsers keep it open and a gone client is noticed.
const keepAlive = 25 * time.Second

// sse starts a server-sent events answer.
func sse(w http.ResponseWriter) *http.ResponseController {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	return rc
}

// writeEvent writes one event; data may hold newlines.
func writeEvent(w io.Writer, event string, data []byte) error {
	var b strings.Builder
	fmt.Fprintf(&b, "event: %s\n", event)
	for _, l := range strings.Split(string(data), "\n") {
		b.WriteString("data: " + l + "\n")
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// live streams a topic's fragment each time it changes: /live/overview,
// /live/host, /live/app/NAME, /live/events?app=&kind=. With ?logs=1 an app's
// stream carries its log lines too, so a page holds one connection (a
// browser opens at most 6 to a host over HTTP/1.1).
func (d *Dashboard) live(w http.ResponseWriter, r *http.Request, _ session) {
	topic := r.PathValue("topic")
	var lines <-chan []byte
	switch {
	case topic == topicOverview, topic == topicHost:
	case strings.HasPrefix(topic, topicApp):
		if r.URL.Query().Get("logs") == "1" {
			lines = d.followLog(r.Context(), strings.TrimPrefix(topic, topicApp))
		}
	case topic == "events":
		q := r.URL.Query()
		topic = topicEvents + url.Values{"app": {q.Get("app")}, "kind": {q.Get("kind")}}.Encode()
	default:
		http.NotFound(w, r)
		return
	}
	ch, stop := d.hub.subscribe(topic)
	defer stop()
	rc := sse(w)
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case b := <-ch:
			err = writeEvent(w, "fragment", b)
		case l, ok := <-lines:
			if !ok {
				lines = nil
				continue
			}
			err = writeEvent(w, "line", l)
		case <-tick.C:
			_, err = io.WriteString(w, ": keep-alive\n\n")
		}
		if err != nil || rc.Flush() != nil {
			return
		}
	}
}

// logLine is one log line as the log tail's script reads it.
type logLine struct {
	Time   string `json:"t"`
	Stream string `json:"s"`
	Color  string `json:"c,omitempty"`
	Text   string `json:"x"`
}

// logTailLines is how many past lines the log tail starts with.
const logTailLines = 200

// followLog reads the app's live log (the last lines, then new ones,
// across blue-green switches) through the same reader as `berth logs -f`,
// each line encoded for the page's script, until ctx ends. A read that
// fails sends its error as the last line.
func (d *Dashboard) followLog(ctx context.Context, app string) <-chan []byte {
	out := make(chan []byte, 64)
	send := func(l logLine) error {
		b, _ := json.Marshal(l)
		select {
		case out <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	go func() {
		defer close(out)
		err := d.cfg.Logs.ReadLogs(ctx, app, "", logs.Query{Tail: logTailLines, Follow: true}, func(l logs.Line) error {
			return send(logLine{Time: l.Time.Local().Format("15:04:05.000"), Stream: string(l.Stream), Color: l.Color, Text: l.Text})
		})
		if err != nil && ctx.Err() == nil {
			_ = send(logLine{Stream: "berth", Text: "the log cannot be read: " + err.Error()})
		}
	}()
	return out
}
