package logs

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCopyRotations pushes 200k lines from a real process through pipes with
// a small MaxSize (many rotations), optionally compressing and restarting
// the writer halfway, and reads every line back exactly once, in order.
func TestCopyRotations(t *testing.T) {
	t.Parallel()
	const total, errEvery = 200_000, 7
	tests := []struct {
		name     string
		compress bool
		restarts int
	}{
		{name: "plain", compress: false},
		{name: "compressed", compress: true},
		{name: "compressed, writer reopened twice", compress: true, restarts: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "app", "blue.log")
			opt := Options{MaxSize: 64 << 10, Keep: -1, Compress: tt.compress}
			parts := tt.restarts + 1
			var rotations uint64
			for p := range parts {
				w, err := Open(path, opt)
				if err != nil {
					t.Fatal(err)
				}
				start, end := p*total/parts, (p+1)*total/parts
				runAgent(t, w, start, end-start, errEvery)
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				s := w.Stats()
				rotations += s.Rotations
				if s.Dropped != 0 || s.WriteErrors != 0 || s.CompressErrors != 0 {
					t.Fatalf("stats %+v, errors %v", s, w.Errors())
				}
			}
			if rotations < 50 {
				t.Errorf("%d rotations, want many", rotations)
			}
			plain, gz := countRotated(t, path)
			if tt.compress && plain != 0 {
				t.Errorf("%d rotated files left uncompressed after Close", plain)
			}
			if !tt.compress && gz != 0 {
				t.Errorf("%d .gz files without Compress", gz)
			}
			checkSeq(t, readAll(t, path, Query{}), map[string][2]int{
				"o": {0, total},
				"e": {0, (total-1)/errEvery + 1},
			})
		})
	}
}

func countRotated(t *testing.T, path string) (plain, gz int) {
	t.Helper()
	rot, err := listRotated(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rot {
		if r.plain {
			plain++
		}
		if r.gz {
			gz++
		}
	}
	return plain, gz
}

// TestRetention checks Keep and MaxTotal after many rotations, and that
// what is kept is the newest lines, with no gap.
func TestRetention(t *testing.T) {
	t.Parallel()
	const total = 30_000
	tests := []struct {
		name     string
		opt      Options
		maxFiles int // rotated files allowed
	}{
		{name: "keep 3", opt: Options{MaxSize: 16 << 10, Keep: 3}, maxFiles: 3},
		{name: "keep 0", opt: Options{MaxSize: 16 << 10, Keep: 0}, maxFiles: 0},
		{name: "keep 2 compressed", opt: Options{MaxSize: 16 << 10, Keep: 2, Compress: true}, maxFiles: 2},
		{name: "max total", opt: Options{MaxSize: 16 << 10, Keep: -1, MaxTotal: 100 << 10}, maxFiles: 6},
		{name: "max total compressed", opt: Options{MaxSize: 16 << 10, Keep: -1, MaxTotal: 40 << 10, Compress: true}, maxFiles: 1000},
		{name: "max total without max size", opt: Options{Keep: -1, MaxTotal: 50 << 10}, maxFiles: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "a.log")
			w, err := Open(path, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			runAgent(t, w, 0, total, 0)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if w.Stats().Rotations < 3 {
				t.Fatalf("only %d rotations", w.Stats().Rotations)
			}
			rot, err := listRotated(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(rot) > tt.maxFiles {
				t.Errorf("%d rotated files, want at most %d", len(rot), tt.maxFiles)
			}
			if tt.opt.MaxTotal > 0 {
				if got := dirBytes(t, filepath.Dir(path)); got > tt.opt.MaxTotal {
					t.Errorf("log files hold %d bytes, cap %d", got, tt.opt.MaxTotal)
				}
			}
			lines := readAll(t, path, Query{})
			if len(lines) == 0 {
				t.Fatal("nothing kept")
			}
			_, num, _ := strings.Cut(lines[0].Text, " ")
			start, err := strconv.Atoi(num)
			if err != nil {
				t.Fatal(err)
			}
			checkSeq(t, lines, map[string][2]int{"o": {start, total}})
		})
	}
}

func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}
