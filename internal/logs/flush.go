package logs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// fileID tells whether two opens are the same file; rotation and someone
// deleting the directory both change what path names.
type fileID struct{ dev, ino uint64 }

func idOf(fi os.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: st.Ino}
	}
	return fileID{}
}

// flush writes the buffer in one write. A write that fails half way is cut
// back off the file, so the file only ever holds whole records and a retry
// neither loses nor repeats one.
func (w *Writer) flush(now time.Time) error {
	if len(w.buf) == 0 {
		return nil
	}
	if w.f == nil || now.After(w.nextCheck) {
		w.nextCheck = now.Add(w.opt.RetryEvery)
		if !w.stillOurs() {
			if err := w.reopen(); err != nil {
				return w.fail(now, err)
			}
		}
	}
	n, err := w.f.Write(w.buf)
	if err != nil {
		if n > 0 {
			// Best effort: if this fails too, a partial record stays.
			_ = w.f.Truncate(w.size)
		}
		return w.fail(now, fmt.Errorf("writing log %s: %w", w.path, err))
	}
	w.size += int64(n)
	w.stats.Lines += w.bufLines
	w.stats.Bytes += uint64(n)
	w.buf, w.bufLines = w.buf[:0], 0
	w.failing = nil
	return nil
}

func (w *Writer) fail(now time.Time, err error) error {
	if w.failing == nil {
		// Log the first error of a failing spell, not one per retry.
		w.noteErr(err)
	}
	w.failing = err
	w.stats.WriteErrors++
	w.nextRetry = now.Add(w.opt.RetryEvery)
	return err
}

// retryDue reports whether a write may be attempted: always when healthy,
// every RetryEvery when failing.
func (w *Writer) retryDue(now time.Time) bool {
	return w.failing == nil || !now.Before(w.nextRetry)
}

// stillOurs reports whether path still names the open file. It does not
// when the file or its directory was removed, or replaced.
func (w *Writer) stillOurs() bool {
	if w.f == nil {
		return false
	}
	fi, err := os.Stat(w.path)
	return err == nil && idOf(fi) == w.id
}

// reopen (re)creates the directory and opens path for appending. It takes
// the file's age from its first record, so MaxAge survives a restart of the
// keeper without a header in the file.
func (w *Writer) reopen() error {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	if err := os.MkdirAll(logDir(w.path), 0o750); err != nil {
		return fmt.Errorf("creating log directory: %w", err)
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("opening log file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("checking log file: %w", err)
	}
	w.f, w.id, w.size = f, idOf(fi), fi.Size()
	w.first = time.Time{}
	if w.size > 0 {
		w.first = firstTime(w.path, fi)
	}
	return nil
}

// firstTime is the time of the file's first record, or its mtime when the
// file does not start with one.
func firstTime(path string, fi os.FileInfo) time.Time {
	f, err := os.Open(path)
	if err != nil {
		return fi.ModTime()
	}
	defer f.Close()
	b := make([]byte, len(TimeFormat))
	if _, err := io.ReadFull(bufio.NewReader(f), b); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fi.ModTime()
	}
	t, err := time.Parse(TimeFormat, string(b))
	if err != nil {
		return fi.ModTime()
	}
	return t
}

// armTimer makes sure a flush runs within FlushEvery. It runs one timer
// only while there is something to write, so an idle log costs nothing.
func (w *Writer) armTimer() {
	if w.timerSet || w.closed {
		return
	}
	w.timerSet = true
	w.timers.Add(1)
	d := w.opt.FlushEvery
	if w.failing != nil {
		d = max(d, time.Until(w.nextRetry))
	}
	w.timer = time.AfterFunc(d, w.onTimer)
}

func (w *Writer) onTimer() {
	defer w.timers.Done()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timerSet = false
	if w.closed {
		return
	}
	now := time.Now()
	if w.retryDue(now) {
		w.flush(now)
	}
	if len(w.buf) > 0 {
		w.armTimer()
	}
}
