package logs

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestReadQueries writes a known set of lines over several rotated files
// (plain and gzipped) and checks Tail, Since and Streams against the same
// selection made in memory.
func TestReadQueries(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	const n = 3000
	var all []Line
	setup := func(t *testing.T, compress bool) string {
		path := filepath.Join(t.TempDir(), "q.log")
		w, err := Open(path, Options{MaxSize: 8 << 10, Keep: -1, Compress: compress, MaxLine: 50})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			s, text := Stdout, "o "+strconv.Itoa(i)
			if i%3 == 0 {
				s, text = Stderr, "e "+strconv.Itoa(i)
			}
			if i%97 == 0 {
				text += " " + string(make([]byte, 120)) // split into pieces
			}
			if err := w.WriteLine(s, t0.Add(time.Duration(i)*time.Second), []byte(text)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for i := range n {
		l := Line{Time: t0.Add(time.Duration(i) * time.Second), Stream: Stdout, Text: "o " + strconv.Itoa(i)}
		if i%3 == 0 {
			l.Stream, l.Text = Stderr, "e "+strconv.Itoa(i)
		}
		if i%97 == 0 {
			l.Text += " " + string(make([]byte, 120))
		}
		all = append(all, l)
	}
	sel := func(since time.Time, streams []Stream, tail int) []Line {
		var out []Line
		for _, l := range all {
			if l.Time.Before(since) || (streams != nil && l.Stream != streams[0]) {
				continue
			}
			out = append(out, l)
		}
		if tail > 0 && len(out) > tail {
			out = out[len(out)-tail:]
		}
		return out
	}
	tests := []struct {
		name string
		q    Query
		want []Line
	}{
		{name: "all", q: Query{}, want: all},
		{name: "tail 5", q: Query{Tail: 5}, want: sel(time.Time{}, nil, 5)},
		{name: "tail across files", q: Query{Tail: 1500}, want: sel(time.Time{}, nil, 1500)},
		{name: "tail more than there is", q: Query{Tail: 10 * n}, want: all},
		{name: "tail of stderr", q: Query{Tail: 40, Streams: []Stream{Stderr}}, want: sel(time.Time{}, []Stream{Stderr}, 40)},
		{name: "stdout only", q: Query{Streams: []Stream{Stdout}}, want: sel(time.Time{}, []Stream{Stdout}, 0)},
		{name: "since", q: Query{Since: t0.Add(2500 * time.Second)}, want: sel(t0.Add(2500*time.Second), nil, 0)},
		{name: "since and tail", q: Query{Since: t0.Add(2990 * time.Second), Tail: 100}, want: sel(t0.Add(2990*time.Second), nil, 100)},
	}
	for _, compress := range []bool{false, true} {
		path := setup(t, compress)
		for _, tt := range tests {
			t.Run(tt.name+" compress="+strconv.FormatBool(compress), func(t *testing.T) {
				t.Parallel()
				if diff := cmp.Diff(tt.want, readAll(t, path, tt.q)); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestFollow follows a log while a real agent writes 50k lines through
// pipes with many rotations and compression, and checks every line arrives
// once, in order; with Tail, from the last lines written before it started.
func TestFollow(t *testing.T) {
	t.Parallel()
	const before, total = 1000, 50_000
	tests := []struct {
		name  string
		q     Query
		first int // first "o" line expected
	}{
		{name: "from the start", q: Query{Follow: true}, first: 0},
		{name: "tail 10", q: Query{Follow: true, Tail: 10}, first: before - 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "f.log")
			w, err := Open(path, Options{MaxSize: 16 << 10, Keep: -1, Compress: true, FlushEvery: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			runAgent(t, w, 0, before, 0)
			// Tail is of what reached the file: wait for the buffered lines.
			waitFor(t, "the first lines to reach the file", func() bool { return w.Lines() >= before })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mu sync.Mutex
			var got []Line
			done := make(chan error, 1)
			go func() {
				done <- Read(ctx, path, tt.q, func(l Line) error {
					mu.Lock()
					defer mu.Unlock()
					got = append(got, l)
					return nil
				})
			}()
			runAgent(t, w, before, total-before, 0)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if w.Stats().Rotations < 20 {
				t.Fatalf("only %d rotations", w.Stats().Rotations)
			}
			waitFor(t, "the follower to catch up", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(got) >= total-tt.first
			})
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Read: %v", err)
			}
			checkSeq(t, got, map[string][2]int{"o": {tt.first, total}})
		})
	}
}
