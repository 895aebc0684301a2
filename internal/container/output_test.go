package container

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/logs"
)

// TestSkipper: after a restart berth asks the engine for the lines since
// the last one in its log (inclusive, at nanoseconds; the log keeps
// microseconds): those before it, and as many at its microsecond as the log
// has, are skipped; every later one is written, once per fetch.
func TestSkipper(t *testing.T) {
	at := time.Date(2026, 12, 7, 12, 0, 0, 123456000, time.UTC)
	s := seen{at: at, lines: map[string]int{"out\x00a": 1, "out\x00b": 1}}
	skip := s.skipper()
	for _, tc := range []struct {
		stream logs.Stream
		t      time.Time
		text   string
		want   bool
	}{
		{logs.Stdout, at.Add(-time.Millisecond), "old", true},
		{logs.Stdout, at.Add(789 * time.Nanosecond), "a", true},
		{logs.Stdout, at, "a", false},
		{logs.Stderr, at, "b", false},
		{logs.Stdout, at, "b", true},
		{logs.Stdout, at.Add(time.Microsecond), "a", false},
	} {
		if got := skip(tc.stream, tc.t, tc.text); got != tc.want {
			t.Errorf("skip(%s, %v, %q) = %v, want %v", tc.stream, tc.t, tc.text, got, tc.want)
		}
	}
	// A second fetch starts from the log's lines again, not from what the
	// first fetch consumed.
	if !s.skipper()(logs.Stdout, at, "a") {
		t.Error("a second fetch wrote again a line the log has")
	}
}

// TestDemux splits the engine's multiplexed stream into timestamped lines
// per stream, a line cut across frames joined, the last one without its
// newline kept.
func TestDemux(t *testing.T) {
	var b bytes.Buffer
	frame := func(stream byte, s string) {
		var h [8]byte
		h[0] = stream
		binary.BigEndian.PutUint32(h[4:], uint32(len(s)))
		b.Write(h[:])
		b.WriteString(s)
	}
	frame(1, "2026-12-07T12:00:00.000000001Z hello\n2026-12-07T12:00:00.5Z wor")
	frame(2, "2026-12-07T12:00:01Z oops\n")
	frame(1, "ld\n2026-12-07T12:00:02Z tail")
	type line struct {
		S    logs.Stream
		T    string
		Text string
	}
	var got []line
	if err := demux(&b, func(s logs.Stream, t time.Time, text []byte) {
		got = append(got, line{s, t.Format(time.RFC3339Nano), string(text)})
	}); err != nil {
		t.Fatal(err)
	}
	want := []line{
		{logs.Stdout, "2026-12-07T12:00:00.000000001Z", "hello"},
		{logs.Stderr, "2026-12-07T12:00:01Z", "oops"},
		{logs.Stdout, "2026-12-07T12:00:00.5Z", "world"},
		{logs.Stdout, "2026-12-07T12:00:02Z", "tail"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("demux (-want +got):\n%s", d)
	}
}
