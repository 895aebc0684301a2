package front

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"

	"github.com/berth-dev/berth/internal/process"
)

// tableVersion is the version of routes.json.
const tableVersion = 1

type table struct {
	Version int          `json:"version"`
	Routes  []RouteState `json:"routes"`
}

// loadTable reads the persisted routes; none when the file is absent.
func loadTable(path string) ([]RouteState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading routing table: %w", err)
	}
	var t table
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("parsing routing table %s: %w", path, err)
	}
	if t.Version != tableVersion {
		return nil, fmt.Errorf("parsing routing table %s: version %d, want %d", path, t.Version, tableVersion)
	}
	return t.Routes, nil
}

// saveTable replaces the persisted routes so that a crash leaves the old
// or the new table, never a torn one: temp file, fsync, rename, fsync dir.
func saveTable(path string, routes []RouteState) error {
	sort.Slice(routes, func(i, j int) bool { return routes[i].App < routes[j].App })
	b, err := json.MarshalIndent(table{Version: tableVersion, Routes: routes}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding routing table: %w", err)
	}
	if err := process.WriteFileAtomic(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving routing table: %w", err)
	}
	return nil
}
