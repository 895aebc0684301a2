// Package health probes an instance (http, tcp and exec checks) and decides
// whether it is healthy: WaitHealthy gates a new instance before traffic
// moves to it, and Watcher keeps probing it afterwards.
//
// Failure counting follows Docker Compose: a check is probed every Interval,
// failures inside StartPeriod do not count (until the check first passes),
// and Retries consecutive failures make it unhealthy.
package health

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/spec"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrUnhealthy means a check failed Retries times in a row after its
	// start period.
	ErrUnhealthy = errors.New("instance unhealthy")
	// ErrInstanceExited means the instance died while it was being gated.
	ErrInstanceExited = errors.New("instance exited")
	// ErrAlreadyRunning means Watcher.Run was called twice.
	ErrAlreadyRunning = errors.New("watcher already running")
)

// Defaults applied when a check leaves a field at zero. The spec loader fills
// them already; repeating them here keeps hand-built checks from spinning.
const (
	defaultInterval = time.Second
	defaultTimeout  = 2 * time.Second
	defaultRetries  = 3
	defaultStatus   = 200

	// listenCheckName names the implicit check used when an app has none.
	listenCheckName = "listen"
)

// Target is the instance a check probes. It is a plain value, safe to copy.
type Target struct {
	Host string   // default 127.0.0.1
	Port int      // the instance's port; 0 when it listens on none
	Dir  string   // release directory: exec checks run there
	Env  []string // environment of exec checks; nil inherits berth's
	// Cred is the user exec checks run as (the agent's own, so a check can
	// do no more than the agent); nil runs them as berth's user.
	Cred *syscall.Credential
	// Shared is the app's shared directory, where heartbeat files are, and
	// LogPath the instance's log, where heartbeat patterns are looked for.
	Shared  string
	LogPath string
	// Color names the instance among its app's: a heartbeat file is per
	// instance (HeartbeatPath), so one color's beats never pass another's.
	Color string
	// Since is when the instance started: a heartbeat from before it (a
	// predecessor's touch or output line) does not count. Zero: no bound.
	Since time.Time
	// PID is the instance's main process, when known: a gate that cannot
	// connect to Port looks at what its process tree listens on instead.
	PID int
	// Exec, when set, runs exec checks instead of a host process: inside
	// the instance's container (runtime.Execer). nil runs them on the host.
	Exec func(ctx context.Context, argv []string) error
}

// Result is the outcome of one probe. It is a plain value, safe to copy.
type Result struct {
	Check    string        // the check's name
	OK       bool          // whether the probe passed
	Err      string        // why it failed; empty when OK
	Duration time.Duration // how long the probe took
	At       time.Time     // when the probe started
}

// normalize returns c with zero fields replaced by defaults, so the rest of
// the package never divides by, or sleeps for, zero.
func normalize(c spec.Check) spec.Check {
	if c.Interval.Duration <= 0 {
		c.Interval.Duration = defaultInterval
	}
	if c.Timeout.Duration <= 0 {
		c.Timeout.Duration = defaultTimeout
	}
	if c.Retries <= 0 {
		c.Retries = defaultRetries
	}
	if c.Role == "" {
		c.Role = spec.RoleReadiness
	}
	if c.Name == "" {
		c.Name = c.Type
	}
	return c
}

// listenCheck is the minimum gate for an app that declares no checks: the
// port accepts connections. It polls faster than the spec default because it
// is cheap and directly on the deploy's critical path.
func listenCheck() spec.Check {
	return spec.Check{
		Name:        listenCheckName,
		Type:        spec.CheckTCP,
		Role:        spec.RoleReadiness,
		Interval:    spec.Duration{Duration: 250 * time.Millisecond},
		Timeout:     spec.Duration{Duration: time.Second},
		Retries:     3,
		StartPeriod: spec.Duration{Duration: 10 * time.Second},
	}
}
