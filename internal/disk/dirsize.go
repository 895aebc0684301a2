package disk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
)

// ErrTruncated is returned by DirSize with the partial size when the walk
// reached its entry limit.
var ErrTruncated = errors.New("directory walk stopped at its entry limit")

// Grower is something berth knows that takes space: an app's logs or its
// releases. The daemon provides them through Options.Growers.
type Grower struct {
	Name   string  // "logs of echo", "releases of echo"
	Path   string  // its directory
	Bytes  int64   // its size now
	Growth float64 // bytes per hour, 0 when unknown
}

// DirSize adds up the sizes of the regular files under root without
// following symlinks, visiting at most maxEntries entries (then it returns
// the partial sum and ErrTruncated). Unreadable entries are skipped: a size
// that is a little low beats no size. It stops when ctx ends.
func DirSize(ctx context.Context, root string, maxEntries int) (int64, error) {
	var total int64
	seen := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			return nil
		}
		if seen++; seen > maxEntries {
			return ErrTruncated
		}
		if seen%256 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrTruncated) {
			return total, err
		}
		return total, fmt.Errorf("measuring %s: %w", root, err)
	}
	return total, nil
}
