package logs

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// lineCases are lines as an agent writes them (with their newline) and as
// Read must return them.
var lineCases = []struct {
	name string
	in   string
	want string
}{
	{name: "empty", in: "\n", want: ""},
	{name: "short", in: "hello\n", want: "hello"},
	{name: "crlf", in: "dos\r\n", want: "dos"},
	{name: "inner cr kept", in: "a\rb\n", want: "a\rb"},
	{name: "invalid utf8", in: "bad \xff\xfe bytes\n", want: "bad \xff\xfe bytes"},
	{name: "exactly max", in: strings.Repeat("x", 100) + "\n", want: strings.Repeat("x", 100)},
	{name: "max plus one", in: strings.Repeat("y", 101) + "\n", want: strings.Repeat("y", 101)},
	{name: "long", in: strings.Repeat("0123456789", 35) + "\n", want: strings.Repeat("0123456789", 35)},
	{name: "long crlf", in: strings.Repeat("z", 99) + "\r\n", want: strings.Repeat("z", 99)},
	{name: "long multibyte", in: strings.Repeat("é", 120) + "\n", want: strings.Repeat("é", 120)},
	{name: "tabs and spaces", in: "  out + err \t\n", want: "  out + err \t"},
}

// TestLongLines writes every case through a real pipe (stdout) and through
// WriteLine (stderr) with MaxLine 100, interleaving the two streams, and
// reads them back joined.
func TestLongLines(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "l.log")
	w, err := Open(path, Options{MaxLine: 100, Keep: -1})
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- Copy(w, Stdout, pr, nil) }()
	var want []Line
	for _, c := range lineCases {
		if _, err := io.WriteString(pw, c.in); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteLine(Stderr, time.Now(), []byte(strings.TrimSuffix(c.in, "\n"))); err != nil {
			t.Fatal(err)
		}
		want = append(want, Line{Stream: Stdout, Text: c.want}, Line{Stream: Stderr, Text: c.want})
	}
	io.WriteString(pw, "no newline at EOF\r")
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	pr.Close()
	want = append(want, Line{Stream: Stdout, Text: "no newline at EOF"})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, rec := range bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n")) {
		if len(rec) > len(TimeFormat)+6+100 {
			t.Fatalf("record %d is %d bytes, longer than MaxLine allows", i, len(rec))
		}
	}
	if !bytes.Contains(raw, []byte(" out+ ")) || !bytes.Contains(raw, []byte(" err+ ")) {
		t.Error("no marked pieces in the file")
	}
	got := readAll(t, path, Query{})
	// Pipe and WriteLine lines interleave by timing; compare each stream.
	for _, s := range []Stream{Stdout, Stderr} {
		if diff := cmp.Diff(only(want, s), only(got, s)); diff != "" {
			t.Errorf("stream %s (-want +got):\n%s", s, diff)
		}
	}
}

func only(lines []Line, s Stream) []string {
	var out []string
	for _, l := range lines {
		if l.Stream == s {
			out = append(out, l.Text)
		}
	}
	return out
}

// TestFlushWithin checks, on a fake clock, that a written line is buffered
// (not written per line) and reaches the file within FlushEvery, and that a
// Writer leaves no goroutine behind (synctest fails on one).
func TestFlushWithin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(dir, "f.log")
		w, err := Open(path, Options{FlushEvery: 100 * time.Millisecond, MaxSize: 200, Keep: 1, Compress: true})
		if err != nil {
			t.Fatal(err)
		}
		w.WriteLine(Stdout, time.Now(), []byte("first"))
		if n := fileSize(t, path); n != 0 {
			t.Fatalf("file has %d bytes right after one line; want buffered", n)
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if n := fileSize(t, path); n == 0 {
			t.Fatal("line not written within FlushEvery")
		}
		for range 20 { // rotations and compressions
			w.WriteLine(Stdout, time.Now(), []byte(strings.Repeat("r", 60)))
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if s := w.Stats(); s.Rotations == 0 || s.Compressed == 0 || s.Lines != 21 {
			t.Errorf("stats %+v, want rotations, compressions and 21 lines", s)
		}
	})
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestMaxAge checks rotation by age, measured from the first line of the
// file, also when the Writer was closed and reopened in between.
func TestMaxAge(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		times   []time.Duration // offsets from t0 of the lines written
		reopen  int             // close and reopen before this line; -1 = never
		wantRot uint64
	}{
		{name: "young", times: []time.Duration{0, 10 * time.Minute, 59 * time.Minute}, reopen: -1, wantRot: 0},
		{name: "old", times: []time.Duration{0, 10 * time.Minute, 61 * time.Minute}, reopen: -1, wantRot: 1},
		{name: "old across reopen", times: []time.Duration{0, 10 * time.Minute, 61 * time.Minute}, reopen: 2, wantRot: 1},
		{name: "age restarts per file", times: []time.Duration{0, 61 * time.Minute, 100 * time.Minute, 122 * time.Minute}, reopen: 3, wantRot: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "age.log")
			opt := Options{MaxAge: time.Hour, Keep: -1}
			w, err := Open(path, opt)
			if err != nil {
				t.Fatal(err)
			}
			var rotations uint64
			for i, d := range tt.times {
				if i == tt.reopen {
					w.Close()
					rotations += w.Stats().Rotations
					if w, err = Open(path, opt); err != nil {
						t.Fatal(err)
					}
				}
				if err := w.WriteLine(Stdout, t0.Add(d), []byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			w.Close()
			rotations += w.Stats().Rotations
			if rotations != tt.wantRot {
				t.Errorf("%d rotations, want %d", rotations, tt.wantRot)
			}
			if got := len(readAll(t, path, Query{})); got != len(tt.times) {
				t.Errorf("read %d lines, want %d", got, len(tt.times))
			}
		})
	}
}
