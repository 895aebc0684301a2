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
	Door    *DoorSpec    `json:"door,omitempty"` // the front door; absent: off
}

// loadTable reads the persisted routes and front door; none when the
// file is absent.
func loadTable(path string) ([]RouteState, DoorSpec, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, DoorSpec{}, nil
	}
	if err != nil {
		return nil, DoorSpec{}, fmt.Errorf("reading routing table: %w", err)
	}
	var t table
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, DoorSpec{}, fmt.Errorf("parsing routing table %s: %w", path, err)
	}
	if t.Version != tableVersion {
		return nil, DoorSpec{}, fmt.Errorf("parsing routing table %s: version %d, want %d", path, t.Version, tableVersion)
	}
	var door DoorSpec
	if t.Door != nil {
		door = *t.Door
	}
	return t.Routes, door, nil
}

// saveTable replaces the persisted routes so that a crash leaves the old
// or the new table, never a torn one: temp file, fsync, rename, fsync dir.
func saveTable(path string, routes []RouteState, door *DoorSpec) error {
	sort.Slice(routes, func(i, j int) bool { return routes[i].App < routes[j].App })
	if door != nil && *door == (DoorSpec{}) {
		door = nil
	}
	b, err := json.MarshalIndent(table{Version: tableVersion, Routes: routes, Door: door}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding routing table: %w", err)
	}
	if err := process.WriteFileAtomic(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving routing table: %w", err)
	}
	return nil
}
