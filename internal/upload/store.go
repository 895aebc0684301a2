package upload

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrBadObject is returned when sent content does not match its name.
var ErrBadObject = errors.New("bad object")

// Store is one app's content store, <appDir>/objects: one file per
// content, named by its SHA-256, 0600, written atomically.
type Store struct {
	appDir string
}

// NewStore returns the store of the app in appDir.
func NewStore(appDir string) Store { return Store{appDir: appDir} }

// Dir is the objects directory.
func (s Store) Dir() string { return filepath.Join(s.appDir, "objects") }

func (s Store) object(hash string) string { return filepath.Join(s.Dir(), hash) }

func (s Store) create() error {
	if err := os.MkdirAll(s.appDir, 0o750); err != nil {
		return fmt.Errorf("creating %s: %w", s.appDir, err)
	}
	if err := os.MkdirAll(filepath.Join(s.Dir(), manifestsDir), 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", s.Dir(), err)
	}
	return nil
}

// Missing returns the hashes the store has no content for.
func (s Store) Missing(hashes []string) ([]string, error) {
	missing := []string{}
	for _, h := range hashes {
		if !validHash(h) {
			return nil, fmt.Errorf("%w: %q is not a SHA-256", ErrBadManifest, h)
		}
		if _, err := os.Stat(s.object(h)); err != nil {
			missing = append(missing, h)
		}
	}
	return missing, nil
}

// Receive stores the objects of a tar stream (WriteObjects), verifying
// each content's hash, up to maxBytes of content in all. It returns how
// many objects and bytes it stored.
func (s Store) Receive(ctx context.Context, r io.Reader, maxBytes int64) (int, int64, error) {
	if err := s.create(); err != nil {
		return 0, 0, err
	}
	tr := tar.NewReader(r)
	var count int
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return count, total, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return count, total, nil
		}
		if err != nil {
			return count, total, fmt.Errorf("reading objects: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg || !validHash(hdr.Name) {
			return count, total, fmt.Errorf("%w: entry %q is not a content named by its SHA-256", ErrBadObject, hdr.Name)
		}
		if total+hdr.Size > maxBytes {
			return count, total, fmt.Errorf("%w: more than %d bytes of content", ErrBadObject, maxBytes)
		}
		if err := s.put(hdr.Name, io.LimitReader(tr, hdr.Size)); err != nil {
			return count, total, err
		}
		count++
		total += hdr.Size
	}
}

// put writes one object: temp file, hash check, fsync, rename.
func (s Store) put(hash string, r io.Reader) error {
	tmp, err := os.CreateTemp(s.Dir(), ".tmp-")
	if err != nil {
		return fmt.Errorf("storing object: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), r); err != nil {
		tmp.Close()
		return fmt.Errorf("storing object %s: %w", hash, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != hash {
		tmp.Close()
		return fmt.Errorf("%w: content sent as %s hashes to %s", ErrBadObject, hash, got)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("storing object %s: %w", hash, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("storing object %s: %w", hash, err)
	}
	if err := os.Rename(tmp.Name(), s.object(hash)); err != nil {
		return fmt.Errorf("storing object %s: %w", hash, err)
	}
	return nil
}
