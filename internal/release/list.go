package release

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// idPattern matches the release IDs Install makes; other names in the
// releases directory are not releases and are left alone.
var idPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$`)

// List returns the app's releases, oldest first. An app with no releases
// directory has none.
func List(appDir string) ([]Release, error) {
	return list(filepath.Join(appDir, "releases"))
}

func list(releases string) ([]Release, error) {
	entries, err := os.ReadDir(releases)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing releases: %w", err)
	}
	var out []Release
	for _, e := range entries {
		id := e.Name()
		if !e.IsDir() || !idPattern.MatchString(id) {
			continue
		}
		created, err := time.Parse(idTime, id[:len(idTime)])
		if err != nil {
			continue // matches the pattern but is no real date
		}
		out = append(out, Release{ID: id, Dir: filepath.Join(releases, id), Created: created})
	}
	slices.SortFunc(out, func(a, b Release) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Prune removes the oldest releases so that keep remain, plus any release
// named in protect (live or warm ones) and the current one, which are never
// removed. It returns the removed IDs, oldest first. A release is renamed
// to a hidden name before it is deleted, so a crash mid-delete never leaves
// a partial release that List would show.
func Prune(appDir string, keep int, protect ...string) ([]string, error) {
	if keep < 0 {
		return nil, fmt.Errorf("pruning releases: keep is %d, must not be negative", keep)
	}
	releases := filepath.Join(appDir, "releases")
	all, err := list(releases)
	if err != nil {
		return nil, err
	}
	keepSet := map[string]bool{}
	for _, id := range protect {
		keepSet[id] = true
	}
	cur, err := Current(appDir)
	switch {
	case err == nil:
		keepSet[cur] = true
	case !errors.Is(err, ErrNoCurrent):
		return nil, fmt.Errorf("pruning releases: %w", err)
	}
	var removed []string
	for _, r := range all[:max(0, len(all)-keep)] {
		if keepSet[r.ID] {
			continue
		}
		trash := filepath.Join(releases, ".trash-"+r.ID)
		if err := os.Rename(r.Dir, trash); err != nil {
			return removed, fmt.Errorf("pruning release %s: %w", r.ID, err)
		}
		removed = append(removed, r.ID)
		if err := os.RemoveAll(trash); err != nil {
			return removed, fmt.Errorf("pruning release %s: %w", r.ID, err)
		}
	}
	return removed, nil
}
