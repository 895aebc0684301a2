package health

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/spec"
)

func TestHeartbeat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fresh, stale := filepath.Join(dir, "fresh"), filepath.Join(dir, "stale")
	for _, f := range []string{fresh, stale, filepath.Join(dir, "beat.blue")} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "blue.log")
	w, err := logs.Open(logPath, logs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	_ = w.WriteLine(logs.Stdout, now.Add(-2*time.Hour), []byte("processed 1 jobs"))
	_ = w.WriteLine(logs.Stdout, now, []byte("idle"))
	_ = w.WriteLine(logs.Stderr, now, []byte("tick 42"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	minute := spec.Duration{Duration: time.Minute}
	later := now.Add(time.Second) // an instance started after every beat above
	tests := []struct {
		name    string
		check   spec.Check
		color   string
		since   time.Time
		wantErr string // "" = passes
	}{
		{name: "fresh file", check: spec.Check{File: "fresh"}},
		{name: "stale file", check: spec.Check{File: "stale"}, wantErr: "last touched"},
		{name: "missing file", check: spec.Check{File: "nope"}, wantErr: "does not exist"},
		{name: "absolute file", check: spec.Check{File: fresh}},
		{name: "own color's file", check: spec.Check{File: "beat"}, color: "blue"},
		{name: "other color's file", check: spec.Check{File: "beat"}, color: "green", wantErr: "beat.green does not exist"},
		{name: "unsuffixed file is no instance's", check: spec.Check{File: "fresh"}, color: "blue", wantErr: "does not exist"},
		{name: "file touched before the start", check: spec.Check{File: "fresh"}, since: later, wantErr: "not touched since the instance started"},
		{name: "recent matching line", check: spec.Check{Pattern: `tick \d+`}},
		{name: "matching line too old", check: spec.Check{Pattern: `processed \d+`}, wantErr: "no output line matching"},
		{name: "matching line before the start", check: spec.Check{Pattern: `tick \d+`}, since: later, wantErr: "since the instance started"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tc.check
			c.Name, c.Type, c.Within, c.Timeout = "beat", spec.CheckHeartbeat, minute, spec.Duration{Duration: 5 * time.Second}
			r := NewProbe(c, Target{Shared: dir, LogPath: logPath, Color: tc.color, Since: tc.since}).Probe(context.Background())
			switch {
			case tc.wantErr == "" && !r.OK:
				t.Fatalf("failed: %s", r.Err)
			case tc.wantErr != "" && (r.OK || !strings.Contains(r.Err, tc.wantErr)):
				t.Fatalf("got OK=%v %q, want failure with %q", r.OK, r.Err, tc.wantErr)
			}
		})
	}
}
