// Package upload moves a release from the laptop to a remote daemon by
// content: the client describes the tree (paths, modes, SHA-256 of each
// file), the server answers which contents its per-app store lacks, the
// client sends only those, and the server assembles the tree from the
// store (safe paths only) for release.Install to check and install. The
// store lives in <appDir>/objects and is pruned with the releases.
//
// A Store's methods may be called concurrently; callers serialize deploys
// of one app (the engine does).
package upload

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// Entry types.
const (
	TypeFile    = "file"
	TypeDir     = "dir"
	TypeSymlink = "symlink"
)

// ErrBadManifest is returned for a manifest the server will not assemble.
var ErrBadManifest = errors.New("bad release manifest")

// Manifest describes one release's tree, or a single archive.
type Manifest struct {
	// Archive is the hash of a tar(.gz) release sent whole; Entries is
	// then empty.
	Archive string  `json:"archive,omitempty"`
	Entries []Entry `json:"entries,omitempty"`
}

// Entry is one path of the tree, slash-separated and relative.
type Entry struct {
	Path   string      `json:"path"`
	Type   string      `json:"type"`
	Mode   fs.FileMode `json:"mode,omitempty"` // permission bits
	Size   int64       `json:"size,omitempty"`
	Hash   string      `json:"hash,omitempty"`   // files: hex SHA-256
	Target string      `json:"target,omitempty"` // symlinks
}

// hashRe has no counted repetition ({64}): it would compile into 64 copies
// at the start of every berth process; the length is checked apart.
var hashRe = regexp.MustCompile(`^[0-9a-f]*$`)

// validHash reports whether h can name an object (and a file).
func validHash(h string) bool { return len(h) == 64 && hashRe.MatchString(h) }

// Hashes lists the distinct contents the manifest needs.
func (m Manifest) Hashes() []string {
	if m.Archive != "" {
		return []string{m.Archive}
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range m.Entries {
		if e.Type == TypeFile && !seen[e.Hash] {
			seen[e.Hash] = true
			out = append(out, e.Hash)
		}
	}
	return out
}

// Size is the total of the file sizes.
func (m Manifest) Size() int64 {
	var n int64
	for _, e := range m.Entries {
		n += e.Size
	}
	return n
}

// Check refuses what could escape or surprise the assembly: non-local or
// unclean paths, unknown types, bad hashes, duplicates, too many entries.
// Symlink targets are checked by release.Install, which sees the tree.
func (m Manifest) Check(maxEntries int) error {
	if m.Archive != "" {
		if len(m.Entries) > 0 || !validHash(m.Archive) {
			return fmt.Errorf("%w: an archive manifest has one valid hash and no entries", ErrBadManifest)
		}
		return nil
	}
	if len(m.Entries) > maxEntries {
		return fmt.Errorf("%w: %d entries, more than %d", ErrBadManifest, len(m.Entries), maxEntries)
	}
	seen := make(map[string]bool, len(m.Entries))
	for _, e := range m.Entries {
		if !fs.ValidPath(e.Path) || e.Path == "." || path.Clean(e.Path) != e.Path || strings.Contains(e.Path, "\\") {
			return fmt.Errorf("%w: unsafe path %q", ErrBadManifest, e.Path)
		}
		if seen[e.Path] {
			return fmt.Errorf("%w: %q appears twice", ErrBadManifest, e.Path)
		}
		seen[e.Path] = true
		switch e.Type {
		case TypeFile:
			if !validHash(e.Hash) || e.Size < 0 {
				return fmt.Errorf("%w: %q has no valid hash", ErrBadManifest, e.Path)
			}
		case TypeDir:
		case TypeSymlink:
			if e.Target == "" {
				return fmt.Errorf("%w: symlink %q has no target", ErrBadManifest, e.Path)
			}
		default:
			return fmt.Errorf("%w: %q has type %q", ErrBadManifest, e.Path, e.Type)
		}
	}
	return nil
}
