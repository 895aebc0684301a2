package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/internal/state"
)

// Journal is the event journal; *state.Store satisfies it.
type Journal interface {
	AddEvent(state.Event) (state.Event, error)
}

// sink delivers one message once; the worker retries.
type sink interface {
	name() string
	send(ctx context.Context, m Message) error
}

func newSink(i int, c config.Alert) (sink, error) {
	n := fmt.Sprintf("%s[%d]", c.Type, i)
	switch c.Type {
	case config.SinkWebhook:
		return &webhookSink{n: n, url: c.URL, client: &http.Client{}}, nil
	case config.SinkFile:
		return fileSink{n: n, path: c.Path}, nil
	case config.SinkExec:
		return execSink{n: n, argv: c.Command}, nil
	}
	return nil, fmt.Errorf("building alert sink %s: unknown type %q", n, c.Type)
}

// journalSink records the alert in the event journal, in the shape the
// journal already uses for alerts (kind alert.fired / alert.resolved).
type journalSink struct{ j Journal }

func (journalSink) name() string { return "journal" }

func (s journalSink) send(_ context.Context, m Message) error {
	fields := map[string]string{"key": m.Alert.Key, "severity": m.Alert.Severity}
	maps.Copy(fields, m.Alert.Details)
	e := state.Event{Time: m.Alert.Time, App: m.Alert.App, Kind: "alert." + map[string]string{StateFiring: "fired", StateResolved: "resolved"}[m.State], Message: m.Alert.Summary, Fields: fields}
	if _, err := s.j.AddEvent(e); err != nil {
		return fmt.Errorf("journaling alert: %w", err)
	}
	return nil
}

// fileSink appends one JSON line per message and fsyncs it. The file is
// opened per message so an outside rotation (rename) is followed.
type fileSink struct{ n, path string }

func (s fileSink) name() string { return s.n }

func (s fileSink) send(_ context.Context, m Message) error {
	line, err := json.Marshal(payload(m))
	if err != nil {
		return fmt.Errorf("encoding alert: %w", err)
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("opening alert file: %w", err)
	}
	// One write call per line: O_APPEND keeps concurrent writers' lines whole.
	_, err = f.Write(append(line, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing alert file: %w", err)
	}
	return nil
}

// webhookSink POSTs the payload as JSON; any 2xx answer is a delivery.
type webhookSink struct {
	n, url string
	client *http.Client
}

func (s *webhookSink) name() string { return s.n }

func (s *webhookSink) send(ctx context.Context, m Message) error {
	body, err := json.Marshal(payload(m))
	if err != nil {
		return fmt.Errorf("encoding alert: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "berth-alert")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("posting to webhook: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s: %s", resp.Status, strings.TrimSpace(string(snippet)))
	}
	return nil
}

// execSink runs argv (no shell) with the payload on stdin and BERTH_ALERT_*
// in the environment. It runs in its own process group so a timeout kills
// whatever the command started too.
type execSink struct {
	n    string
	argv []string
}

func (s execSink) name() string { return s.n }

func (s execSink) send(ctx context.Context, m Message) error {
	body, err := json.Marshal(payload(m))
	if err != nil {
		return fmt.Errorf("encoding alert: %w", err)
	}
	cmd := exec.CommandContext(ctx, s.argv[0], s.argv[1:]...)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = append(os.Environ(), alertEnv(m)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out: %w", ctx.Err())
		}
		tail := strings.TrimSpace(out.String())
		if len(tail) > 300 {
			tail = tail[len(tail)-300:]
		}
		return fmt.Errorf("running alert command %s: %w (output: %q)", s.argv[0], err, tail)
	}
	return nil
}
