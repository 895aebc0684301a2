package disk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// ErrStatfsTimeout is returned when statfs did not answer within the
// watch's timeout: typically a dead network mount.
var ErrStatfsTimeout = errors.New("statfs timed out")

// Stat is what one statfs (and stat, for the device) says about a
// filesystem. Sizes are in bytes.
type Stat struct {
	Dev       uint64 // device id of the path, to watch one filesystem once
	Total     uint64
	Free      uint64 // free to root
	Avail     uint64 // free to everyone else: what "full" means for agents
	Files     uint64 // inodes; 0 when the filesystem does not count them (btrfs)
	FilesFree uint64
}

// StatFunc reads a filesystem's numbers; Statfs is the real one. It may
// block forever (a dead mount); the watcher bounds it with a timeout.
type StatFunc func(path string) (Stat, error)

// Statfs is the StatFunc that asks the kernel.
func Statfs(path string) (Stat, error) {
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		return Stat{}, fmt.Errorf("statfs %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return Stat{}, fmt.Errorf("stat %s: %w", path, err)
	}
	bs := uint64(fs.Bsize)
	return Stat{
		Dev: st.Dev, Total: fs.Blocks * bs, Free: fs.Bfree * bs, Avail: fs.Bavail * bs,
		Files: fs.Files, FilesFree: fs.Ffree,
	}, nil
}

type statResult struct {
	st  Stat
	err error
}

// statWithTimeout runs the watch's statfs in a goroutine and waits at most
// timeout. A call that times out is not abandoned: the next check waits on
// the same call instead of starting another, so a dead mount holds one
// goroutine, not one per check.
func (w *watch) statWithTimeout(ctx context.Context, fn StatFunc, timeout time.Duration) (Stat, error) {
	if w.pending == nil {
		ch := make(chan statResult, 1)
		w.pending = ch
		path := w.cfg.Path
		go func() {
			st, err := fn(path)
			ch <- statResult{st, err}
		}()
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-w.pending:
		w.pending = nil
		return r.st, r.err
	case <-t.C:
		return Stat{}, fmt.Errorf("%s: %w after %v (a dead or hung mount?)", w.cfg.Path, ErrStatfsTimeout, timeout)
	case <-ctx.Done():
		return Stat{}, fmt.Errorf("checking %s: %w", w.cfg.Path, ctx.Err())
	}
}
