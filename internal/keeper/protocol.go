package keeper

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"time"

	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/runtime"
)

// ProtocolVersion is the path prefix of every request: /v1/...
const ProtocolVersion = "v1"

// Error codes carried in error bodies; the client maps them back to the
// runtime package's sentinels.
const (
	codeNotFound   = "not_found"
	codeRunning    = "running"
	codeBadRequest = "bad_request"
	codeSpawn      = "spawn_failed"
	codeInternal   = "internal"
)

// ErrSpawn is returned by Start when the first process of an instance could
// not be started (missing executable, bad directory, ...).
var ErrSpawn = errors.New("starting process")

// ErrBadRequest is returned for a request the keeper refuses as invalid.
var ErrBadRequest = errors.New("invalid request")

// ErrKeeperRunning is returned by Serve when another keeper holds the run
// directory's lock.
var ErrKeeperRunning = errors.New("another keeper is running")

// wireError is the body of every non-2xx response.
type wireError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// wireInstance is runtime.Instance on the wire and in state.json.
type wireInstance struct {
	ID          string       `json:"id"`
	App         string       `json:"app"`
	Argv        []string     `json:"argv"`
	Dir         string       `json:"dir"`
	Env         []string     `json:"env"`
	User        string       `json:"user,omitempty"`
	UID         uint32       `json:"uid,omitempty"`
	GID         uint32       `json:"gid,omitempty"`
	Restart     string       `json:"restart"`
	StopTimeout string       `json:"stop_timeout"` // Go duration, "10s"
	LogPath     string       `json:"log_path"`
	Log         logs.Options `json:"log"`
	Secrets     []string     `json:"secrets,omitempty"`    // names only; values are read at each spawn
	SecretDir   string       `json:"secret_dir,omitempty"` // where they are
	EnvFile     string       `json:"env_file,omitempty"`   // read at each spawn too
	MemoryMax   int64        `json:"memory_max,omitempty"` // bytes; 0 = no limit
	TasksMax    int          `json:"tasks_max,omitempty"`  // 0 = DefaultTasksMax
}

// keeperInfo answers GET /v1/keeper.
type keeperInfo struct {
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
	Cgroups   bool      `json:"cgroups"`
	// Recovery: what this keeper did at start with the runs a dead keeper
	// left.
	Recovery recoverySummary `json:"recovery"`
}

// eventsReply answers GET /v1/events.
type eventsReply struct {
	Events []Event `json:"events"`
}

func toWire(in runtime.Instance) wireInstance {
	return wireInstance{
		ID: in.ID, App: in.App, Argv: in.Argv, Dir: in.Dir, Env: in.Env,
		User: in.User, UID: in.UID, GID: in.GID, Restart: in.Restart,
		StopTimeout: in.StopTimeout.String(), LogPath: in.LogPath, Log: in.Log,
		Secrets: in.Secrets, SecretDir: in.SecretDir, EnvFile: in.EnvFile,
		MemoryMax: in.MemoryMax, TasksMax: in.TasksMax,
	}
}

func fromWire(w wireInstance) (runtime.Instance, error) {
	d, err := time.ParseDuration(w.StopTimeout)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("parsing stop_timeout: %w", err)
	}
	return runtime.Instance{
		ID: w.ID, App: w.App, Argv: w.Argv, Dir: w.Dir, Env: w.Env,
		User: w.User, UID: w.UID, GID: w.GID, Restart: w.Restart,
		StopTimeout: d, LogPath: w.LogPath, Log: w.Log,
		Secrets: w.Secrets, SecretDir: w.SecretDir, EnvFile: w.EnvFile,
		MemoryMax: w.MemoryMax, TasksMax: w.TasksMax,
	}, nil
}

// idPattern keeps ids usable as file and cgroup names, with at most 128
// bytes: a counted repetition ({0,127}) would compile into 127 copies, 118
// kB of heap in every berth process.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// validate checks an instance before the keeper accepts it.
func validate(in runtime.Instance) error {
	switch {
	case len(in.ID) > 128 || !idPattern.MatchString(in.ID) || in.ID == "." || in.ID == "..":
		return fmt.Errorf("%w: id %q: use letters, digits, '.', '_' and '-'", ErrBadRequest, in.ID)
	case len(in.Argv) == 0 || in.Argv[0] == "":
		return fmt.Errorf("%w: instance %s: empty argv", ErrBadRequest, in.ID)
	case in.LogPath == "":
		return fmt.Errorf("%w: instance %s: no log_path", ErrBadRequest, in.ID)
	case len(in.Secrets) > 0 && !filepath.IsAbs(in.SecretDir):
		return fmt.Errorf("%w: instance %s: secrets without an absolute secret_dir", ErrBadRequest, in.ID)
	case in.StopTimeout < 0:
		return fmt.Errorf("%w: instance %s: negative stop_timeout", ErrBadRequest, in.ID)
	}
	switch in.Restart {
	case "always", "on-failure", "never":
	default:
		return fmt.Errorf("%w: instance %s: restart %q: use always, on-failure or never", ErrBadRequest, in.ID, in.Restart)
	}
	return nil
}
