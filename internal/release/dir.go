package release

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// copyDir copies the tree at src into the release. skip is never entered:
// it is the app directory, which may sit inside src when an app is deployed
// from its own source tree, and must not be copied into itself.
func copyDir(x *extractor, src, skip string) error {
	skipAbs, err := filepath.Abs(skip)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", skip, err)
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading source: %w", err)
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return fmt.Errorf("reading source: %w", err)
		}
		if rel == "." {
			return nil
		}
		if abs, _ := filepath.Abs(p); abs == skipAbs || d.Name() == ".git" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return copyEntry(x, p, filepath.ToSlash(rel), d)
	})
}

func copyEntry(x *extractor, p, name string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	switch info.Mode().Type() {
	case fs.ModeDir:
		return x.dir(name, info.Mode())
	case 0:
		return copyFile(x, p, name)
	case fs.ModeSymlink:
		target, err := os.Readlink(p)
		if err != nil {
			return fmt.Errorf("entry %q: %w", name, err)
		}
		return x.symlink(name, target)
	default:
		return fmt.Errorf("entry %q: %w", name, ErrSpecialFile)
	}
}

// copyFile opens without following links and checks the open file, so a
// source swapped for a link or device after the walk saw it is refused.
func copyFile(x *extractor, p, name string) error {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("entry %q: %w", name, ErrSpecialFile)
	}
	return x.file(name, info.Mode(), f)
}
