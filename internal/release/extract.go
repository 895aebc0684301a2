package release

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// kind is what a path in the release is.
type kind uint8

const (
	kindDir kind = iota + 1
	kindFile
	kindSymlink
)

// extractor writes checked entries into a release directory. It records
// every path it creates, so link targets are judged against exactly what is
// in the tree; the os.Root underneath is a second line of defence. It is not
// safe for concurrent use.
type extractor struct {
	ctx   context.Context
	root  *os.Root
	lim   Limits
	bytes int64
	kinds map[string]kind
	dirs  map[string]fs.FileMode // final modes, applied last
	links map[string]string      // symlink -> target
	hash  hash.Hash
}

func newExtractor(ctx context.Context, root *os.Root, lim Limits) *extractor {
	return &extractor{
		ctx: ctx, root: root, lim: lim,
		kinds: map[string]kind{"": kindDir},
		dirs:  map[string]fs.FileMode{},
		links: map[string]string{},
		hash:  sha256.New(),
	}
}

// cleanName turns an entry name into a clean relative slash path; "" is the
// release root itself.
func cleanName(raw string) (string, error) {
	if raw == "" || strings.ContainsRune(raw, 0) {
		return "", fmt.Errorf("entry %q: %w", raw, ErrUnsafePath)
	}
	if strings.HasPrefix(raw, "/") {
		return "", fmt.Errorf("entry %q: %w: absolute", raw, ErrUnsafePath)
	}
	var parts []string
	for p := range strings.SplitSeq(raw, "/") {
		switch p {
		case "", ".":
		case "..":
			return "", fmt.Errorf("entry %q: %w: contains ..", raw, ErrUnsafePath)
		default:
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/"), nil
}

// prepare checks that name may be created: limits, parents that are real
// directories (created when missing), no earlier entry at name. It reports
// whether name is already a directory, which only a directory entry may meet.
func (x *extractor) prepare(name string) (isDir bool, err error) {
	if err := x.ctx.Err(); err != nil {
		return false, fmt.Errorf("installing release: %w", err)
	}
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		parent := strings.Join(parts[:i], "/")
		switch x.kinds[parent] {
		case kindDir:
		case kindSymlink:
			return false, fmt.Errorf("entry %q: %w %q", name, ErrThroughSymlink, parent)
		case kindFile:
			return false, fmt.Errorf("entry %q: %w: %q is a file", name, ErrDuplicate, parent)
		default:
			if err := x.add(parent, kindDir); err != nil {
				return false, err
			}
			if err := x.root.Mkdir(parent, 0o700); err != nil {
				return false, fmt.Errorf("entry %q: creating %q: %w", name, parent, err)
			}
			x.dirs[parent] = 0o755
		}
	}
	switch x.kinds[name] {
	case 0:
		return false, nil
	case kindDir:
		return true, nil
	default:
		return false, fmt.Errorf("entry %q: %w", name, ErrDuplicate)
	}
}

// claim readies name for a new entry of kind k: its parents exist, it is
// not there already (a duplicate entry is refused), and it counts against
// the limits.
func (x *extractor) claim(name string, k kind) error {
	if exists, err := x.prepare(name); err != nil {
		return err
	} else if exists {
		return fmt.Errorf("entry %q: %w", name, ErrDuplicate)
	}
	return x.add(name, k)
}

// add counts a new path against MaxFiles and records its kind.
func (x *extractor) add(name string, k kind) error {
	if len(x.kinds) > x.lim.MaxFiles { // kinds holds the root too
		return fmt.Errorf("entry %q: %w (%d)", name, ErrTooManyFiles, x.lim.MaxFiles)
	}
	x.kinds[name] = k
	return nil
}

// record feeds an entry's identity into the content hash.
func (x *extractor) record(k kind, name string, mode fs.FileMode, target string) {
	var b [5]byte
	b[0] = byte(k)
	binary.BigEndian.PutUint32(b[1:], uint32(mode))
	x.hash.Write(b[:])
	x.hash.Write([]byte(name + "\x00" + target + "\x00"))
}

func (x *extractor) dir(name string, mode fs.FileMode) error {
	if name == "" {
		return nil
	}
	exists, err := x.prepare(name)
	if err != nil {
		return err
	}
	if !exists {
		if err := x.add(name, kindDir); err != nil {
			return err
		}
		if err := x.root.Mkdir(name, 0o700); err != nil {
			return fmt.Errorf("entry %q: creating directory: %w", name, err)
		}
	}
	x.dirs[name] = mode.Perm() | 0o700
	x.record(kindDir, name, mode.Perm(), "")
	return nil
}

// file writes a regular file, counting the bytes it actually gets from r
// rather than any size a header claims.
func (x *extractor) file(name string, mode fs.FileMode, r io.Reader) error {
	if name == "" {
		return fmt.Errorf("entry %q: %w: not a directory", ".", ErrUnsafePath)
	}
	if err := x.claim(name, kindFile); err != nil {
		return err
	}
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("entry %q: creating file: %w", name, err)
	}
	defer f.Close()
	x.record(kindFile, name, mode.Perm(), "")
	remaining := x.lim.MaxBytes - x.bytes
	n, err := io.CopyN(io.MultiWriter(f, x.hash), ctxReader{x.ctx, r}, remaining+1)
	x.bytes += n
	if n > remaining {
		return fmt.Errorf("entry %q: %w (%d bytes)", name, ErrTooLarge, x.lim.MaxBytes)
	}
	if err != nil && err != io.EOF {
		return fmt.Errorf("entry %q: writing: %w", name, err)
	}
	// Chmod after creating: the umask must not change the release's modes.
	if err := f.Chmod(mode.Perm()); err != nil {
		return fmt.Errorf("entry %q: setting mode: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("entry %q: closing: %w", name, err)
	}
	return nil
}

// symlink creates a link whose target must stay inside the release. The
// lexical check here rejects the obvious; finish resolves every link again
// once all of them exist, since a target may pass through a later one.
func (x *extractor) symlink(name, target string) error {
	if name == "" {
		return fmt.Errorf("entry %q: %w: not a directory", ".", ErrUnsafePath)
	}
	if target == "" || path.IsAbs(target) || !local(path.Join(path.Dir(name), target)) {
		return fmt.Errorf("entry %q: %w: target %q", name, ErrLinkEscape, target)
	}
	if err := x.claim(name, kindSymlink); err != nil {
		return err
	}
	if err := x.root.Symlink(target, name); err != nil {
		return fmt.Errorf("entry %q: creating symlink: %w", name, err)
	}
	x.links[name] = target
	x.record(kindSymlink, name, 0, target)
	return nil
}

// hardlink links name to a regular file already in the release.
func (x *extractor) hardlink(name, rawTarget string) error {
	target, err := cleanName(rawTarget)
	if err != nil || x.kinds[target] != kindFile {
		return fmt.Errorf("entry %q: %w: hardlink target %q is not a file in the release", name, ErrLinkEscape, rawTarget)
	}
	if err := x.claim(name, kindFile); err != nil {
		return err
	}
	if err := x.root.Link(target, name); err != nil {
		return fmt.Errorf("entry %q: creating hardlink: %w", name, err)
	}
	x.record(kindFile, name, 0, target)
	return nil
}

// finish checks every symlink against the whole tree, applies directory
// modes (deepest first, though owner rwx keeps the order from mattering)
// and flushes the release to disk before it is renamed into place.
func (x *extractor) finish() error {
	for name, target := range x.links {
		if err := x.checkLink(name); err != nil {
			return fmt.Errorf("entry %q: %w: target %q: %w", name, ErrLinkEscape, target, err)
		}
	}
	dirs := make([]string, 0, len(x.dirs))
	for d := range x.dirs {
		dirs = append(dirs, d)
	}
	slices.SortFunc(dirs, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, d := range dirs {
		if err := x.chmodDir(d, x.dirs[d]); err != nil {
			return err
		}
	}
	return x.syncfs()
}

func (x *extractor) chmodDir(name string, mode fs.FileMode) error {
	f, err := x.root.Open(name)
	if err != nil {
		return fmt.Errorf("entry %q: opening directory: %w", name, err)
	}
	defer f.Close()
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("entry %q: setting mode: %w", name, err)
	}
	return nil
}

// syncfs flushes the file system holding the release once, rather than
// fsyncing each of possibly many thousand files.
func (x *extractor) syncfs() error {
	f, err := x.root.Open(".")
	if err != nil {
		return fmt.Errorf("opening release to sync: %w", err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("syncing release: %w", err)
	}
	return nil
}

// sum is the short content hash used in the release ID.
func (x *extractor) sum() string {
	return hex.EncodeToString(x.hash.Sum(nil))[:6]
}

// local reports whether a cleaned slash path stays inside its root.
func local(p string) bool {
	p = path.Clean(p)
	return p != ".." && !strings.HasPrefix(p, "../") && !path.IsAbs(p)
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
