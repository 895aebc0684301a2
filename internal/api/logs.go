package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/logs"
)

// LogReader reads an app's log lines; the daemon knows where they are.
type LogReader interface {
	ReadLogs(ctx context.Context, app, color string, q logs.Query, out func(logs.Line) error) error
}

// readLogs streams log lines as JSON lines: ?n=100&follow=1&since=10m&stream=err&color=blue
func (s *Server) readLogs(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	var q logs.Query
	q.Tail, _ = strconv.Atoi(qv.Get("n"))
	q.Follow = qv.Get("follow") == "1"
	if since := qv.Get("since"); since != "" {
		d, err := time.ParseDuration(since)
		if err != nil {
			badRequest(w, "since: "+err.Error()+` (use a duration such as "10m")`)
			return
		}
		q.Since = time.Now().Add(-d)
	}
	if st := qv.Get("stream"); st != "" {
		switch logs.Stream(st) {
		case logs.Stdout, logs.Stderr:
			q.Streams = []logs.Stream{logs.Stream(st)}
		default:
			badRequest(w, "stream: use out or err")
			return
		}
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	started := false
	err := s.logs.ReadLogs(r.Context(), r.PathValue("app"), qv.Get("color"), q, func(l logs.Line) error {
		started = true
		if err := enc.Encode(l); err != nil {
			return err
		}
		if q.Follow {
			return rc.Flush()
		}
		return nil
	})
	if err != nil && !started && r.Context().Err() == nil {
		writeError(w, err)
	}
}
