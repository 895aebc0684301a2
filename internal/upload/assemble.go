package upload

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/release"
)

// manifestsDir holds, per installed release, the manifest it came from:
// what Prune keeps.
const manifestsDir = "manifests"

// Assemble builds the tree m describes from the store and returns its path
// for release.Install, and a function that removes it. An archive manifest
// returns the stored archive itself. Every path is checked (Check) and
// every write goes through an os.Root, so nothing lands outside the tree;
// symlinks come last, so no file is written through one.
func (s Store) Assemble(m Manifest) (string, func(), error) {
	if err := m.Check(release.DefaultMaxFiles); err != nil {
		return "", nil, err
	}
	missing, err := s.Missing(m.Hashes())
	if err != nil {
		return "", nil, err
	}
	if len(missing) > 0 {
		return "", nil, fmt.Errorf("%w: %d contents were not uploaded (first %s)", ErrBadManifest, len(missing), missing[0])
	}
	if m.Archive != "" {
		return s.object(m.Archive), func() {}, nil
	}
	if err := s.create(); err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp(s.Dir(), ".stage-")
	if err != nil {
		return "", nil, fmt.Errorf("creating staging directory: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	if err := s.fill(dir, m); err != nil {
		cleanup()
		return "", nil, err
	}
	return dir, cleanup, nil
}

func (s Store) fill(dir string, m Manifest) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("opening staging directory: %w", err)
	}
	defer root.Close()
	var dirs, links []Entry
	for _, e := range m.Entries {
		if parent := filepath.Dir(e.Path); parent != "." {
			if err := root.MkdirAll(parent, 0o700); err != nil {
				return fmt.Errorf("assembling %s: %w", e.Path, err)
			}
		}
		switch e.Type {
		case TypeDir:
			if err := root.MkdirAll(e.Path, 0o700); err != nil {
				return fmt.Errorf("assembling %s: %w", e.Path, err)
			}
			dirs = append(dirs, e)
		case TypeFile:
			if err := s.copyObject(root, e); err != nil {
				return err
			}
		case TypeSymlink:
			links = append(links, e)
		}
	}
	for _, e := range links {
		if err := root.Symlink(e.Target, e.Path); err != nil {
			return fmt.Errorf("assembling link %s: %w", e.Path, err)
		}
	}
	for _, e := range dirs {
		if err := root.Chmod(e.Path, (e.Mode&fs.ModePerm)|0o700); err != nil {
			return fmt.Errorf("assembling %s: %w", e.Path, err)
		}
	}
	return nil
}

func (s Store) copyObject(root *os.Root, e Entry) error {
	src, err := os.Open(s.object(e.Hash))
	if err != nil {
		return fmt.Errorf("assembling %s: %w", e.Path, err)
	}
	defer src.Close()
	dst, err := root.OpenFile(e.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, (e.Mode&fs.ModePerm)|0o400)
	if err != nil {
		return fmt.Errorf("assembling %s: %w", e.Path, err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("assembling %s: %w", e.Path, err)
	}
	return dst.Close()
}

// Keep records that the installed release id came from m, so Prune keeps
// its contents while the release exists.
func (s Store) Keep(id string, m Manifest) error {
	if id == "" || strings.ContainsAny(id, "/\\") || strings.HasPrefix(id, ".") {
		return fmt.Errorf("recording manifest: bad release id %q", id)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("recording manifest: %w", err)
	}
	if err := s.create(); err != nil {
		return err
	}
	p := filepath.Join(s.Dir(), manifestsDir, id+".json")
	if err := os.WriteFile(p+".tmp", b, 0o600); err != nil {
		return fmt.Errorf("recording manifest: %w", err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		return fmt.Errorf("recording manifest: %w", err)
	}
	return nil
}

// PruneGrace spares objects this young: they may belong to an upload
// whose deploy has not started yet.
const PruneGrace = 10 * time.Minute

// Prune removes the manifests of releases no longer installed and every
// object no kept manifest names (older than PruneGrace). It returns how
// many objects it removed.
func (s Store) Prune(now time.Time) (int, error) {
	rels, err := release.List(s.appDir)
	if err != nil {
		return 0, err
	}
	installed := map[string]bool{}
	for _, r := range rels {
		installed[r.ID] = true
	}
	keep, err := s.kept(installed)
	if err != nil {
		return 0, err
	}
	ents, err := os.ReadDir(s.Dir())
	if err != nil {
		return 0, fmt.Errorf("pruning objects: %w", err)
	}
	removed := 0
	for _, d := range ents {
		name := d.Name()
		info, err := d.Info()
		if err != nil || keep[name] || !(validHash(name) || strings.HasPrefix(name, ".stage-")) || now.Sub(info.ModTime()) < PruneGrace {
			continue
		}
		if os.RemoveAll(filepath.Join(s.Dir(), name)) == nil && validHash(name) {
			removed++
		}
	}
	return removed, nil
}

// kept returns the hashes named by manifests of installed releases,
// removing the manifests of the others.
func (s Store) kept(installed map[string]bool) (map[string]bool, error) {
	dir := filepath.Join(s.Dir(), manifestsDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("pruning objects: %w", err)
	}
	keep := map[string]bool{}
	for _, d := range ents {
		id := strings.TrimSuffix(d.Name(), ".json")
		p := filepath.Join(dir, d.Name())
		if !installed[id] {
			_ = os.Remove(p)
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("pruning objects: %w", err)
		}
		var m Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("pruning objects: %s: %w", p, err)
		}
		for _, h := range m.Hashes() {
			keep[h] = true
		}
	}
	return keep, nil
}
