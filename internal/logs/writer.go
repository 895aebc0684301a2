// Package logs writes and reads agents' log files: one line per record,
// timestamped and stream-tagged, rotated by rename-and-reopen.
package logs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Stream names which pipe a line came from.
type Stream string

// The streams of an agent.
const (
	Stdout Stream = "out"
	Stderr Stream = "err"
)

// TimeFormat is the fixed-width UTC timestamp that starts every line.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Options is the rotation policy of one log file.
type Options struct {
	MaxSize  int64         // rotate when the file reaches this many bytes; 0 = never
	MaxAge   time.Duration // rotate when the file is this old; 0 = never
	Keep     int           // rotated files kept
	Compress bool          // gzip rotated files
	MaxTotal int64         // cap on the bytes of all files of this log
	OnFull   string        // "drop" or "block"
	MaxLine  int           // longer lines are split; default 16 KiB
}

// Writer appends lines to a log file. It is safe for concurrent use.
type Writer struct {
	mu    sync.Mutex
	path  string
	opt   Options
	f     *os.File
	buf   *bufio.Writer
	lines uint64
}

// Open opens (creating it when needed) the log file at path for appending.
func Open(path string, opt Options) (*Writer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("creating log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening log file: %w", err)
	}
	return &Writer{path: path, opt: opt, f: f, buf: bufio.NewWriterSize(f, 32<<10)}, nil
}

// WriteLine writes one line (without its newline) from stream, stamped t.
func (w *Writer) WriteLine(stream Stream, t time.Time, line []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.WriteString(t.UTC().Format(TimeFormat))
	w.buf.WriteByte(' ')
	w.buf.WriteString(string(stream))
	w.buf.WriteByte(' ')
	w.buf.Write(line)
	w.buf.WriteByte('\n')
	w.lines++
	return w.buf.Flush()
}

// Lines reports how many lines were written.
func (w *Writer) Lines() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lines
}

// Close flushes and closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.buf.Flush(); err != nil {
		w.f.Close()
		return fmt.Errorf("flushing log: %w", err)
	}
	return w.f.Close()
}
