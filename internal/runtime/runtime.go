// Package runtime defines how berth runs one instance of an agent, whatever
// the backend: the embedded keeper today, systemd or containers later. The
// deploy engine depends on the Runtime interface only.
package runtime

import (
	"context"
	"errors"
	"time"

	"github.com/berth-dev/berth/internal/logs"
)

// ErrNotFound is returned for an instance the runtime does not know.
var ErrNotFound = errors.New("instance not found")

// ErrRunning is returned by Start for an instance that is already running.
var ErrRunning = errors.New("instance already running")

// Instance is everything a runtime needs to run one instance of an agent.
type Instance struct {
	ID          string        // "<app>.<color>", unique on the host
	Backend     string        // the spec's run.runtime; the Router resolves it (Resolve)
	App         string        // app name
	Argv        []string      // argv; argv[0] is resolved against Dir when relative
	Dir         string        // working directory (the release directory)
	Env         []string      // the complete environment, KEY=VALUE
	User        string        // user name to run as; "" = the daemon's own user
	UID, GID    uint32        // resolved from User by the daemon
	Restart     string        // always | on-failure | never
	StopTimeout time.Duration // SIGTERM, wait this long, then SIGKILL the group
	LogPath     string        // the instance's log file
	Log         logs.Options  // rotation policy for LogPath

	// Secrets names the files of SecretDir the agent gets (never their
	// values: those are read by the runtime at each start, so they stay out
	// of every record of the instance). The embedded runtime sets each as
	// an environment variable and redacts its value from the log; systemd
	// loads each as a credential, and as a variable when SecretsEnv.
	Secrets    []string
	SecretDir  string
	SecretsEnv bool
	// EnvFile is the app's installed env_file (berth provision puts it
	// there, 0600): the embedded runtime reads it at each start, refuses it
	// when group or others may read it, and redacts its values; systemd
	// reads it through the unit. "" = none.
	EnvFile string
	// Applied by both runtimes (the keeper through cgroups).
	MemoryMax int64 // bytes; 0 = no limit
	TasksMax  int   // 0 = the runtime's default (the keeper's: 4096)

	// Applied by the systemd runtime; the embedded runtime ignores them
	// (the spec refuses them with runtime = "embedded").
	CPUQuota     string        // "50%"; "" = no limit
	Notify       bool          // the agent speaks sd_notify (Type=notify)
	Watchdog     time.Duration // WatchdogSec=; needs Notify; 0 = none
	Capabilities []string      // e.g. CAP_NET_BIND_SERVICE; none by default
	Relax        []string      // hardening directives to leave out, by name

	// Applied by the container runtimes (docker, podman); the others ignore
	// them. The container publishes Port on 127.0.0.1 only, as the same
	// port inside (PORT in Env), and bind-mounts Shared at the same path so
	// HOME, BERTH_SHARED and BERTH_HEARTBEAT mean the same inside.
	// omitempty: an instance of another runtime sends none of them, so a
	// keeper of an older berth (strict decoding) still takes it.
	Image   string  `json:",omitempty"` // image reference; "" when Build is set
	Build   string  `json:",omitempty"` // directory of Dir holding a Dockerfile, built once per release
	Release string  `json:",omitempty"` // the release id, a label and the key of the pinned image
	Port    int     `json:",omitempty"` // 0 = publishes none
	CPUs    float64 `json:",omitempty"` // cores; 0 = no limit
	Shared  string  `json:",omitempty"` // the app's shared directory on the host
	// SpecUser is run.user as written, a user of the image ("root" to
	// run as root). "" runs the image's USER when it is not root, else
	// UID:GID (berth's account for the app): never root unless asked.
	SpecUser string `json:",omitempty"`
}

// State is an instance's lifecycle state.
type State string

// Instance states.
const (
	StateRunning   State = "running"   // the process is up
	StateBackoff   State = "backoff"   // exited; waiting to restart
	StateCrashloop State = "crashloop" // restarted repeatedly in a short time; still retrying with backoff
	StateExited    State = "exited"    // exited and the restart policy says stay down
	StateStopped   State = "stopped"   // stopped on request
)

// Status is a snapshot of one instance.
type Status struct {
	ID          string    `json:"id"`
	App         string    `json:"app"`
	State       State     `json:"state"`
	PID         int       `json:"pid,omitempty"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	Restarts    int       `json:"restarts"`
	LastExit    string    `json:"last_exit,omitempty"` // "exit 1", "signal: killed"
	LastExitAt  time.Time `json:"last_exit_at,omitzero"`
	NextStartAt time.Time `json:"next_start_at,omitzero"` // in backoff/crashloop
	LastStderr  []string  `json:"last_stderr,omitempty"`  // the last lines of stderr
	LogPath     string    `json:"log_path"`
	LogLines    uint64    `json:"log_lines"`
	LogBytes    uint64    `json:"log_bytes"` // the agent's output, newlines included
	LogDropped  uint64    `json:"log_dropped"`
	// Adopted: the process was started by a keeper that died and was
	// re-adopted by the current one (its exit status will be unknown).
	Adopted bool `json:"adopted,omitempty"`
	// OutputLost: adopted without its output pipes, so its output is not
	// captured (and cannot be counted) until it is started again.
	OutputLost bool `json:"output_lost,omitempty"`
}

// Runtime starts, stops and reports instances. Implementations are safe for
// concurrent use.
type Runtime interface {
	// Start starts inst; ErrRunning when it is already running.
	Start(ctx context.Context, inst Instance) (Status, error)
	// Stop stops an instance gracefully and waits until no process of it is
	// left. Stopping a stopped instance is not an error.
	Stop(ctx context.Context, id string) (Status, error)
	// Status reports one instance; ErrNotFound when unknown.
	Status(ctx context.Context, id string) (Status, error)
	// List reports every instance the runtime knows.
	List(ctx context.Context) ([]Status, error)
	// Remove forgets a stopped instance.
	Remove(ctx context.Context, id string) error
}
