package keeper

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/berth-dev/berth/internal/runtime"
)

// stateVersion is the version of state.json this keeper writes and reads.
const stateVersion = 1

// stateFile is RunDir/state.json: what a new keeper needs to recover.
type stateFile struct {
	Version   int           `json:"version"`
	KeeperPID int           `json:"keeper_pid"`
	Seq       uint64        `json:"seq"` // last event sequence number
	Instances []stateRecord `json:"instances"`
}

// stateRecord is one instance in state.json.
type stateRecord struct {
	Spec       wireInstance  `json:"spec"`
	Desired    string        `json:"desired"` // running | stopped
	State      runtime.State `json:"state"`
	PID        int           `json:"pid,omitempty"`
	PGID       int           `json:"pgid,omitempty"`
	StartTime  uint64        `json:"start_time,omitempty"` // /proc/<pid>/stat field 22
	Cgroup     string        `json:"cgroup,omitempty"`
	Pipes      []uint64      `json:"pipes,omitempty"` // inodes of the stdout and stderr pipes
	StartedAt  time.Time     `json:"started_at,omitzero"`
	Restarts   int           `json:"restarts"`
	LastExit   string        `json:"last_exit,omitempty"`
	LastExitAt time.Time     `json:"last_exit_at,omitzero"`
}

// Desired states.
const (
	desiredRunning = "running"
	desiredStopped = "stopped"
)

// loadState reads path; a missing file is an empty state.
func loadState(path string) (stateFile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return stateFile{Version: stateVersion}, nil
	}
	if err != nil {
		return stateFile{}, fmt.Errorf("reading state: %w", err)
	}
	var s stateFile
	if err := json.Unmarshal(b, &s); err != nil {
		return stateFile{}, fmt.Errorf("parsing state %s: %w", path, err)
	}
	if s.Version != stateVersion {
		return stateFile{}, fmt.Errorf("parsing state %s: version %d, want %d", path, s.Version, stateVersion)
	}
	return s, nil
}
