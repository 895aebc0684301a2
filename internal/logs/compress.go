package logs

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// housekeep is the Writer's one background goroutine: it gzips rotated
// files and deletes the ones retention no longer wants. Doing both in one
// goroutine means a file is never deleted while it is being compressed.
// It runs a last pass after Close, so Close returns with the work done.
func (w *Writer) housekeep() {
	defer w.worker.Done()
	w.removeTemps()
	for range w.kick {
		w.pass()
	}
}

func (w *Writer) pass() {
	rot, err := listRotated(w.path)
	if err != nil {
		w.houseErr(err)
		return
	}
	// Count first, so files about to be deleted are not compressed.
	if w.opt.Keep >= 0 && len(rot) > w.opt.Keep {
		for _, r := range rot[:len(rot)-w.opt.Keep] {
			w.remove(r)
		}
		rot = rot[len(rot)-w.opt.Keep:]
	}
	if w.opt.KeepFor > 0 {
		old := time.Now().Add(-w.opt.KeepFor)
		for len(rot) > 0 && rot[0].time.Before(old) {
			w.remove(rot[0])
			rot = rot[1:]
		}
	}
	if w.opt.Compress {
		for i, r := range rot {
			if r.plain {
				rot[i] = w.compress(r)
			}
		}
	}
	if w.opt.MaxTotal > 0 {
		// Leave room for the live file to reach MaxSize, so the cap holds
		// between two passes too.
		total := max(w.liveSize(), w.opt.MaxSize)
		for _, r := range rot {
			total += r.size
		}
		for len(rot) > 0 && total > w.opt.MaxTotal {
			total -= rot[0].size
			w.remove(rot[0])
			rot = rot[1:]
		}
	}
}

func (w *Writer) liveSize() int64 {
	fi, err := os.Stat(w.path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func (w *Writer) remove(r rotated) {
	for _, name := range []string{r.base, r.base + gzExt} {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			w.houseErr(fmt.Errorf("deleting rotated log: %w", err))
		}
	}
}

// compress writes r.base.gz through a temporary file that is synced before
// it takes the final name, then removes the plain file. A crash leaves
// either the plain file, or both (readers prefer the plain one), or a
// .gz.tmp that the next Writer removes; never a truncated .gz.
func (w *Writer) compress(r rotated) rotated {
	gzName := r.base + gzExt
	if err := gzipFile(r.base, r.base+tmpExt); err != nil {
		os.Remove(r.base + tmpExt)
		w.houseErr(err)
		return r
	}
	if err := os.Rename(r.base+tmpExt, gzName); err != nil {
		os.Remove(r.base + tmpExt)
		w.houseErr(fmt.Errorf("naming compressed log: %w", err))
		return r
	}
	syncDir(filepath.Dir(gzName))
	if err := os.Remove(r.base); err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.houseErr(fmt.Errorf("removing compressed log: %w", err))
		return r
	}
	w.mu.Lock()
	w.stats.Compressed++
	w.mu.Unlock()
	r.plain = false
	if fi, err := os.Stat(gzName); err == nil {
		r.size = fi.Size()
	}
	return r
}

func gzipFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("opening rotated log: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("creating compressed log: %w", err)
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing compressed log: %w", cerr)
		}
	}()
	// BestSpeed: logs compress well at any level, and the CPU belongs to
	// the agents on this host.
	zw, err := gzip.NewWriterLevel(out, gzip.BestSpeed)
	if err != nil {
		return fmt.Errorf("starting gzip: %w", err)
	}
	zw.Name = filepath.Base(src)
	if _, err := io.Copy(zw, in); err != nil {
		return fmt.Errorf("compressing rotated log: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compressing rotated log: %w", err)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("syncing compressed log: %w", err)
	}
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: the rename is done either way
		d.Close()
	}
}

// removeTemps deletes compressions a crashed Writer left half done.
func (w *Writer) removeTemps() {
	dir, prefix := filepath.Dir(w.path), filepath.Base(w.path)+"."
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && strings.HasSuffix(e.Name(), tmpExt) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func (w *Writer) houseErr(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stats.CompressErrors++
	w.noteErr(err)
}
