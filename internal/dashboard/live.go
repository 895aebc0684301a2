package dashboard

import (
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
// /live/host, /live/app/NAME, /live/events?app=&kind=.
func (d *Dashboard) live(w http.ResponseWriter, r *http.Request, _ session) {
	topic := r.PathValue("topic")
	switch {
	case topic == topicOverview, topic == topicHost, strings.HasPrefix(topic, topicApp):
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
		select {
		case <-r.Context().Done():
			return
		case b := <-ch:
			if writeEvent(w, "fragment", b) != nil || rc.Flush() != nil {
				return
			}
		case <-tick.C:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
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

// logTail streams the app's live log (the last lines, then new ones, across
// blue-green switches) through the same reader as `berth logs -f`.
func (d *Dashboard) logTail(w http.ResponseWriter, r *http.Request, _ session) {
	rc := sse(w)
	err := d.cfg.Logs.ReadLogs(r.Context(), r.PathValue("app"), "", logs.Query{Tail: logTailLines, Follow: true}, func(l logs.Line) error {
		b, _ := json.Marshal(logLine{Time: l.Time.Local().Format("15:04:05.000"), Stream: string(l.Stream), Color: l.Color, Text: l.Text})
		if err := writeEvent(w, "line", b); err != nil {
			return err
		}
		return rc.Flush()
	})
	if err != nil && r.Context().Err() == nil {
		b, _ := json.Marshal(err.Error())
		_ = writeEvent(w, "failed", b)
		_ = rc.Flush()
	}
}
