package logs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// TimeFormatRotated names rotated files: path.<time>[.gz]. Fixed width, so
// names sort in rotation order; nanoseconds keep them unique.
const TimeFormatRotated = "20060102T150405.000000000Z"

const (
	gzExt  = ".gz"
	tmpExt = ".gz.tmp"
)

// rotateDue reports whether the record of n bytes stamped t must go to a
// fresh file. It waits for an open split line to end, so a reader finds all
// its pieces in one file, unless that line runs past twice MaxSize.
func (w *Writer) rotateDue(t time.Time, n int) bool {
	size := w.size + int64(len(w.buf))
	if size == 0 {
		return false
	}
	bySize := w.opt.MaxSize > 0 && size+int64(n) > w.opt.MaxSize
	byAge := w.opt.MaxAge > 0 && !w.first.IsZero() && t.Sub(w.first) >= w.opt.MaxAge
	if !bySize && !byAge {
		return false
	}
	for _, open := range w.open {
		if open && (w.opt.MaxSize <= 0 || size < 2*w.opt.MaxSize) {
			return false
		}
	}
	return true
}

// rotate renames the live file aside and opens a fresh one. When the rename
// fails (a read-only directory) it keeps writing to the current file, which
// loses nothing, and tries again after RetryEvery.
func (w *Writer) rotate(now time.Time) {
	if !w.retryDue(now) || now.Before(w.nextRotate) {
		return
	}
	if err := w.flush(now); err != nil {
		return
	}
	if w.f == nil || !w.stillOurs() {
		// Someone moved or removed our file: start a fresh one in place.
		if err := w.reopen(); err != nil {
			w.fail(now, err)
		}
		return
	}
	name, at := w.rotatedName(now)
	if err := os.Rename(w.path, name); err != nil {
		w.noteErr(fmt.Errorf("rotating log: %w", err))
		w.stats.WriteErrors++
		w.nextRotate = now.Add(w.opt.RetryEvery)
		return
	}
	w.lastRot = at
	w.stats.Rotations++
	if err := w.reopen(); err != nil {
		w.fail(now, err)
	}
	select {
	case w.kick <- struct{}{}:
	default: // the housekeeper has a pass pending; it will see this file
	}
}

// rotatedName returns a name no other rotated file of this log has. Names
// only grow, even if the clock steps back.
func (w *Writer) rotatedName(now time.Time) (string, time.Time) {
	at := now.UTC()
	if !at.After(w.lastRot) {
		at = w.lastRot.Add(time.Nanosecond)
	}
	for {
		name := w.path + "." + at.Format(TimeFormatRotated)
		if !exists(name) && !exists(name+gzExt) {
			return name, at
		}
		at = at.Add(time.Nanosecond)
	}
}

func exists(name string) bool {
	_, err := os.Lstat(name)
	return !errors.Is(err, fs.ErrNotExist)
}

// rotated is one rotated file of a log; plain and gzipped copies of the
// same rotation (a crash between rename and remove) share one entry.
type rotated struct {
	time  time.Time
	base  string // path.<time>
	plain bool   // base exists
	gz    bool   // base.gz exists
	size  int64  // bytes of both
	id    fileID // of the plain file
}

// listRotated returns the rotated files of the log at path, oldest first.
func listRotated(path string) ([]rotated, error) {
	dir, prefix := filepath.Dir(path), filepath.Base(path)+"."
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing rotated logs: %w", err)
	}
	byTime := map[string]*rotated{}
	var out []rotated
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || e.IsDir() {
			continue
		}
		stamp, gz := strings.CutSuffix(name, gzExt)
		t, err := time.Parse(TimeFormatRotated, stamp)
		if err != nil || len(stamp) != len(TimeFormatRotated) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed since ReadDir
		}
		r := byTime[stamp]
		if r == nil {
			r = &rotated{time: t, base: filepath.Join(dir, prefix+stamp)}
			byTime[stamp] = r
		}
		r.size += fi.Size()
		if gz {
			r.gz = true
		} else {
			r.plain, r.id = true, idOf(fi)
		}
	}
	for _, r := range byTime {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b rotated) int { return a.time.Compare(b.time) })
	return out, nil
}
