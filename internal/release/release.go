// Package release installs an app's releases and points at the live one.
//
// Releases live in <appDir>/releases/<id>; <appDir>/current is a relative
// symlink to the live one. A release is unpacked or copied into a hidden
// temporary directory beside the others and renamed into place, so a
// release directory is never half written. Sources are untrusted: every
// entry is checked (see Install) and all writes go through an os.Root.
//
// The functions share no state and are safe for concurrent use, but
// concurrent Install, Prune and SetCurrent calls on one appDir should be
// serialized by the caller to keep their outcome predictable.
package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Sentinel errors, matched with errors.Is. Each is wrapped with the entry
// it concerns.
var (
	ErrUnsafePath       = errors.New("unsafe path")                          // absolute, "..", or empty
	ErrLinkEscape       = errors.New("link points outside the release")      // symlink or hardlink target
	ErrThroughSymlink   = errors.New("path goes through a symlink")          // entries may not be written via a link
	ErrSpecialFile      = errors.New("device, fifo or socket not allowed")   // anything but file, dir, link
	ErrUnsupportedEntry = errors.New("unsupported archive entry type")       // tar types berth does not know
	ErrDuplicate        = errors.New("entry appears twice")                  // a later entry may not replace one
	ErrTooLarge         = errors.New("release exceeds the size limit")       // Limits.MaxBytes
	ErrTooManyFiles     = errors.New("release exceeds the file count limit") // Limits.MaxFiles
	ErrNotFound         = errors.New("release not found")
	ErrNoCurrent        = errors.New("no current release")
)

// Default limits, used for zero fields of Limits.
const (
	DefaultMaxBytes = 1 << 30
	DefaultMaxFiles = 100_000
)

// idTime is the layout of the time part of a release ID.
const idTime = "20060102T150405Z"

// Limits bounds what one release may contain. Zero fields take the defaults.
type Limits struct {
	MaxBytes int64 // total bytes of regular files, counted as they are written
	MaxFiles int   // entries, counting directories, links and implied parents
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultMaxFiles
	}
	return l
}

// Release is one installed release. It is a plain value, safe to copy.
type Release struct {
	ID      string    // "<UTC time>-<content hash>", e.g. "20261125T183000Z-3f2a9c"; sorts by age
	Dir     string    // filepath.Join(appDir, "releases", ID)
	Created time.Time // the time encoded in ID
}

// Install copies src into a new release of the app in appDir and returns
// it. src is a directory or a tar archive, gzip-compressed or not (detected
// from its content).
//
// A directory is copied with its regular files (and their permission bits),
// directories and symlinks; .git and appDir itself are skipped. Every entry is checked: an
// absolute path or ".." component (ErrUnsafePath), a symlink or hardlink
// that leads outside the release, also through other symlinks
// (ErrLinkEscape), an entry written through a symlink (ErrThroughSymlink), a
// device, fifo or socket (ErrSpecialFile), a second entry for one path
// (ErrDuplicate), or going over lim (ErrTooLarge, ErrTooManyFiles) fails
// the whole install, and nothing is left behind. Setuid, setgid and sticky
// bits are stripped, not rejected: they are never needed to run an app, and
// archives made by ordinary tools may carry them. Directories always keep
// owner rwx so berth can prune them.
func Install(ctx context.Context, src, appDir string, lim Limits) (Release, error) {
	lim = lim.withDefaults()
	releases := filepath.Join(appDir, "releases")
	if err := os.MkdirAll(releases, 0o750); err != nil {
		return Release{}, fmt.Errorf("creating releases directory: %w", err)
	}
	info, err := os.Stat(src)
	if err != nil {
		return Release{}, fmt.Errorf("reading release source: %w", err)
	}
	tmp, err := os.MkdirTemp(releases, ".tmp-")
	if err != nil {
		return Release{}, fmt.Errorf("creating temporary release directory: %w", err)
	}
	placed := false
	defer func() {
		if !placed {
			os.RemoveAll(tmp)
		}
	}()
	sum, err := fill(ctx, tmp, src, appDir, info.IsDir(), lim)
	if err != nil {
		return Release{}, err
	}
	if !info.IsDir() {
		if tmp, err = stripTop(tmp); err != nil {
			return Release{}, err
		}
	}
	rel, err := place(tmp, releases, sum)
	if err != nil {
		return Release{}, err
	}
	placed = true
	return rel, nil
}

// fill writes the content of src into dir and returns its content hash.
func fill(ctx context.Context, dir, src, appDir string, isDir bool, lim Limits) (string, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", fmt.Errorf("opening temporary release directory: %w", err)
	}
	defer root.Close()
	x := newExtractor(ctx, root, lim)
	if isDir {
		err = copyDir(x, src, appDir)
	} else {
		err = unpackTar(x, src)
	}
	if err != nil {
		return "", err
	}
	if err := x.finish(); err != nil {
		return "", err
	}
	return x.sum(), nil
}
