package upload

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Local is a scanned release on the client: its manifest and where each
// content is on disk.
type Local struct {
	Manifest Manifest
	Files    map[string]string // hash -> a local path with that content
}

// ScanDir describes the tree at dir as release.Install would copy it:
// regular files, directories and symlinks, .git skipped; anything else is
// an error naming it.
func ScanDir(dir string) (*Local, error) {
	l := &Local{Files: map[string]string{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading release: %w", err)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		if d.Name() == ".git" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		e, err := scanEntry(p, filepath.ToSlash(rel), d)
		if err != nil {
			return err
		}
		if e.Type == TypeFile {
			l.Files[e.Hash] = p
		}
		l.Manifest.Entries = append(l.Manifest.Entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

func scanEntry(p, rel string, d fs.DirEntry) (Entry, error) {
	info, err := d.Info()
	if err != nil {
		return Entry{}, fmt.Errorf("reading %s: %w", p, err)
	}
	e := Entry{Path: rel, Mode: info.Mode().Perm()}
	switch {
	case info.IsDir():
		e.Type = TypeDir
	case info.Mode()&fs.ModeSymlink != 0:
		e.Type, e.Mode = TypeSymlink, 0
		if e.Target, err = os.Readlink(p); err != nil {
			return Entry{}, fmt.Errorf("reading link %s: %w", p, err)
		}
	case info.Mode().IsRegular():
		e.Type, e.Size = TypeFile, info.Size()
		if e.Hash, err = hashFile(p); err != nil {
			return Entry{}, err
		}
	default:
		return Entry{}, fmt.Errorf("%s: a device, fifo or socket cannot be part of a release", p)
	}
	return e, nil
}

// ScanArchive describes a tar(.gz) release sent whole.
func ScanArchive(file string) (*Local, error) {
	h, err := hashFile(file)
	if err != nil {
		return nil, err
	}
	return &Local{Manifest: Manifest{Archive: h}, Files: map[string]string{h: file}}, nil
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", p, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// WriteObjects writes the contents named by hashes to w as a tar stream,
// one entry per content named by its hash, and returns the content bytes.
func (l *Local) WriteObjects(w io.Writer, hashes []string) (int64, error) {
	tw := tar.NewWriter(w)
	var n int64
	for _, h := range hashes {
		p, ok := l.Files[h]
		if !ok {
			return n, fmt.Errorf("the server asked for content %s, which this release does not have", h)
		}
		m, err := writeObject(tw, h, p)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, tw.Close()
}

func writeObject(tw *tar.Writer, hash, p string) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", p, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", p, err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: hash, Mode: 0o600, Size: info.Size(), Typeflag: tar.TypeReg}); err != nil {
		return 0, fmt.Errorf("sending %s: %w", p, err)
	}
	n, err := io.Copy(tw, f)
	if err != nil {
		return n, fmt.Errorf("sending %s (did it change during the upload?): %w", p, err)
	}
	return n, nil
}
