package logs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// OnFull policies: what a Writer does with a line it cannot write.
const (
	OnFullDrop  = "drop"  // drop the line, count it, keep going
	OnFullBlock = "block" // wait until it can be written; Copy stops reading the pipe
)

// ErrClosed is returned by WriteLine after Close.
var ErrClosed = errors.New("log writer closed")

// ErrDropped is returned by WriteLine when OnFull is "drop" and the line
// could not be written; the line is counted in Stats.Dropped.
var ErrDropped = errors.New("log line dropped")

// Options is the rotation policy of one log file. The zero value never
// rotates, keeps no rotated file and drops lines it cannot write.
type Options struct {
	MaxSize  int64         // rotate when the file reaches this many bytes; 0 = never
	MaxAge   time.Duration // rotate when the file's first line is this old; 0 = never
	Keep     int           // rotated files kept; 0 = none, negative = no count limit
	KeepFor  time.Duration // rotated files older than this are deleted; 0 = no age limit
	Compress bool          // gzip rotated files
	MaxTotal int64         // cap on all files of this log, kept by deleting the oldest rotated files (never by refusing lines); 0 = none. MaxSize 0 or above it becomes MaxTotal/2
	OnFull   string        // "drop" (default) or "block"
	MaxLine  int           // longer lines are split; default 16 KiB

	FlushEvery time.Duration // buffered lines reach the file within this; default 100ms
	RetryEvery time.Duration // after a write error, retry (and reopen) this often; default 1s
}

const (
	defaultMaxLine    = 16 << 10
	defaultFlushEvery = 100 * time.Millisecond
	defaultRetryEvery = time.Second
	minBuffer         = 64 << 10
	maxErrors         = 16 // Errors keeps this many recent errors
)

func (o Options) normalized() (Options, error) {
	switch o.OnFull {
	case "":
		o.OnFull = OnFullDrop
	case OnFullDrop, OnFullBlock:
	default:
		return o, fmt.Errorf("checking on_full %q: want %q or %q", o.OnFull, OnFullDrop, OnFullBlock)
	}
	if o.MaxLine <= 0 {
		o.MaxLine = defaultMaxLine
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = defaultFlushEvery
	}
	if o.RetryEvery <= 0 {
		o.RetryEvery = defaultRetryEvery
	}
	// The live file can only be deleted once rotated, so it must rotate
	// well before it alone fills the total cap.
	if o.MaxTotal > 0 && (o.MaxSize <= 0 || o.MaxSize > o.MaxTotal) {
		o.MaxSize = o.MaxTotal / 2
	}
	return o, nil
}

// Stats counts what a Writer did since Open.
type Stats struct {
	Lines          uint64 // lines written to the file
	Bytes          uint64 // bytes written to the file
	Dropped        uint64 // lines dropped (OnFull "drop", or unwritable at Close)
	Rotations      uint64 // files rotated
	Compressed     uint64 // rotated files gzipped
	CompressErrors uint64 // failed compressions and deletions of rotated files
	WriteErrors    uint64 // failed writes, reopens and rotations
	Failing        bool   // the last write attempt failed
}

// Writer appends lines to a log file, rotating it by its Options. It buffers
// lines and writes them within Options.FlushEvery. It is safe for concurrent
// use; one path must have one Writer at a time.
type Writer struct {
	path string
	opt  Options

	mu         sync.Mutex
	f          *os.File // nil while the file cannot be opened
	id         fileID   // identity of f, to notice the path being replaced
	size       int64    // bytes in f
	first      time.Time
	buf        []byte
	bufLines   uint64 // complete lines in buf
	bufCap     int
	open       map[Stream]bool // streams with a line whose last piece is still to come
	failing    error
	nextRetry  time.Time
	nextCheck  time.Time
	nextRotate time.Time
	lastRot    time.Time // name time of the newest rotated file
	closed     bool
	timerSet   bool
	timer      *time.Timer
	stamp      stamper
	stats      Stats
	errs       []error

	done   chan struct{} // closed by Close; wakes blocked writers
	kick   chan struct{} // wakes the housekeeper
	timers sync.WaitGroup
	worker sync.WaitGroup
}

// Open opens (creating it when needed) the log file at path for appending,
// and starts its housekeeping goroutine (compression and retention), which
// first finishes what a previous Writer of path left undone.
func Open(path string, opt Options) (*Writer, error) {
	opt, err := opt.normalized()
	if err != nil {
		return nil, fmt.Errorf("opening log %s: %w", path, err)
	}
	w := &Writer{
		path:   path,
		opt:    opt,
		bufCap: max(minBuffer, 4*(opt.MaxLine+64)),
		open:   make(map[Stream]bool, 2),
		done:   make(chan struct{}),
		kick:   make(chan struct{}, 1),
	}
	if err := w.reopen(); err != nil {
		return nil, err
	}
	rot, err := listRotated(path)
	if err != nil {
		w.f.Close()
		return nil, err
	}
	if len(rot) > 0 {
		w.lastRot = rot[len(rot)-1].time
	}
	w.buf = make([]byte, 0, w.bufCap)
	w.worker.Add(1)
	go w.housekeep()
	w.kick <- struct{}{}
	return w, nil
}

// WriteLine writes one line (without its newline) from stream, stamped t. A
// trailing "\r" is dropped; a line holding newlines is written as several
// lines; a line longer than MaxLine is split into marked pieces. It returns
// ErrDropped when OnFull is "drop" and the line could not be written, and
// with OnFull "block" it waits until the line can be written or Close.
func (w *Writer) WriteLine(stream Stream, t time.Time, line []byte) error {
	if err := checkStream(stream); err != nil {
		return err
	}
	for {
		i := bytes.IndexByte(line, '\n')
		if i < 0 {
			return w.writeLong(stream, t, line)
		}
		if err := w.writeLong(stream, t, line[:i]); err != nil {
			return err
		}
		line = line[i+1:]
	}
}

func (w *Writer) writeLong(stream Stream, t time.Time, line []byte) error {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	var dropped error
	for {
		n := splitPoint(line, w.opt.MaxLine)
		more := n < len(line)
		if err := w.write(stream, t, line[:n], more); err != nil {
			if !errors.Is(err, ErrDropped) {
				return err
			}
			dropped = err
		}
		if !more {
			return dropped
		}
		line = line[n:]
	}
}

// write appends one record, waiting with the lock released when OnFull is
// "block" so Stats and the other stream are not held up.
func (w *Writer) write(stream Stream, t time.Time, text []byte, more bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		if w.closed {
			return ErrClosed
		}
		if w.tryAppend(stream, t, text, more) {
			return nil
		}
		if w.opt.OnFull != OnFullBlock {
			if !more {
				w.stats.Dropped++
			}
			return ErrDropped
		}
		w.mu.Unlock()
		select {
		case <-time.After(w.opt.RetryEvery):
		case <-w.done:
		}
		w.mu.Lock()
	}
}

// tryAppend puts a record in the buffer, rotating and flushing as needed.
// It reports false when the buffer is full and the file cannot take it.
func (w *Writer) tryAppend(stream Stream, t time.Time, text []byte, more bool) bool {
	n := recordLen(stream, text, more)
	now := time.Now()
	if w.failing == nil && w.rotateDue(t, n) {
		w.rotate(now)
	}
	if len(w.buf)+n > w.bufCap && w.retryDue(now) {
		w.flush(now)
	}
	if len(w.buf)+n > w.bufCap && len(w.buf) > 0 {
		return false
	}
	w.buf = w.stamp.appendRecord(w.buf, stream, t, text, more)
	if !more {
		w.bufLines++
	}
	w.open[stream] = more
	if w.first.IsZero() {
		w.first = t
	}
	w.armTimer()
	return true
}

// Lines reports how many lines were written to the file.
func (w *Writer) Lines() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats.Lines
}

// Dropped reports how many lines were dropped.
func (w *Writer) Dropped() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats.Dropped
}

// Stats returns a snapshot of the Writer's counters.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats
	s.Failing = w.failing != nil
	return s
}

// Errors returns the most recent errors (writing, reopening, rotating,
// compressing, deleting), oldest first, at most 16.
func (w *Writer) Errors() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]error(nil), w.errs...)
}

func (w *Writer) noteErr(err error) {
	if len(w.errs) == maxErrors {
		w.errs = append(w.errs[:0], w.errs[1:]...)
	}
	w.errs = append(w.errs, err)
}

// Close writes what is buffered, closes the file and waits for the
// background work (pending compressions and deletions) to finish. Lines it
// cannot write are counted as dropped and the error is returned.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.done)
	if w.timerSet && w.timer.Stop() {
		w.timerSet = false
		w.timers.Done()
	}
	err := w.flush(time.Now())
	if err != nil {
		w.stats.Dropped += w.bufLines
		w.buf, w.bufLines = w.buf[:0], 0
	}
	if w.f != nil {
		if cerr := w.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing log: %w", cerr)
		}
		w.f = nil
	}
	w.mu.Unlock()
	close(w.kick)
	w.worker.Wait()
	w.timers.Wait()
	return err
}

func logDir(path string) string { return filepath.Dir(path) }
