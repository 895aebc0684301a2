// Package spec defines berth's app spec (berth.toml): its types, its defaults,
// and strict loading with errors that point at file:line:col.
//
// A loaded *App is immutable by convention: callers must not modify it, and it
// is then safe for concurrent use.
package spec

import "github.com/berth-dev/berth/internal/tomlconf"

// Strategies, protocols, check types and roles accepted by the spec.
const (
	StrategyRestart   = "restart"
	StrategyBlueGreen = "bluegreen"
	StrategyRolling   = "rolling"
	StrategyCanary    = "canary"
	// StrategyAuto lets the planner (internal/plan) choose from [constraints].
	StrategyAuto = "auto"

	ProtocolHTTP = "http"
	ProtocolTCP  = "tcp"

	CheckHTTP = "http"
	CheckTCP  = "tcp"
	CheckExec = "exec"
	// CheckHeartbeat is the progress watchdog for agents that serve no port:
	// a file's modification time, or a line of the agent's output matching a
	// pattern, must be newer than Within.
	CheckHeartbeat = "heartbeat"

	RoleStartup    = "startup"
	RoleLiveness   = "liveness"
	RoleReadiness  = "readiness"
	RoleFunctional = "functional"

	RestartAlways    = "always"
	RestartOnFailure = "on-failure"
	RestartNever     = "never"

	KeepWarmUntilNextDeploy = "until-next-deploy"
)

// App is one agent's spec, with every default filled in.
type App struct {
	Version int    `toml:"version"`
	Name    string `toml:"name"`

	Run     Run      `toml:"run"`
	Service *Service `toml:"service"` // nil when the agent takes no traffic
	Deploy  Deploy   `toml:"deploy"`
	Checks  []Check  `toml:"checks"`
	Logs    Logs     `toml:"logs"`

	Constraints Constraints `toml:"constraints"`

	// Warnings are things that are allowed but probably wrong, such as an
	// explicit strategy that contradicts [constraints]; set by Parse, nil
	// when there are none.
	Warnings []Problem `toml:"-"`

	// File is the absolute path of the spec file and Dir its directory; set by
	// Load, not read from TOML.
	File string `toml:"-"`
	Dir  string `toml:"-"`
}

// Run says how to start the agent.
type Run struct {
	Command     Command           `toml:"command"` // argv (berth expands ${VAR}) or one /bin/sh -c line
	Env         map[string]string `toml:"env"`
	User        string            `toml:"user"`         // "" = dedicated user berth-<name> when root; "root" must be spelled out
	StopTimeout Duration          `toml:"stop_timeout"` // default 10s
	Restart     string            `toml:"restart"`      // always | on-failure | never; default always
	Runtime     string            `toml:"runtime"`      // "embedded" (default) | "systemd" | "auto" | "docker" | "podman"
	Secrets     []string          `toml:"secrets"`      // names of secrets set with `berth secret set`; see docs/secrets.md
	SecretsEnv  bool              `toml:"secrets_env"`  // systemd: secrets also as environment variables, not only credentials

	EnvFile string `toml:"env_file"` // KEY=VALUE secrets file, installed 0600 by berth provision; read by either runtime

	// The container runtimes (docker, podman) run an image: exactly one of
	// Image and Build is set with them, neither without them.
	Image string `toml:"image"` // an image reference, pulled when missing
	Build string `toml:"build"` // a directory of the release holding a Dockerfile, built per release

	// Applied by every runtime: systemd's MemoryMax=/TasksMax=, the keeper's
	// cgroup memory and pids limits, the container's memory and pids
	// limits. Also written memory = and pids = (the container names);
	// Parse folds those into these fields.
	MemoryMax ByteSize `toml:"memory_max"` // 0 = no limit
	TasksMax  int      `toml:"tasks_max"`  // 0 = the runtime's default: systemd's, the keeper's 4096
	Memory    ByteSize `toml:"memory"`     // another spelling of memory_max; folded into MemoryMax
	PIDs      int      `toml:"pids"`       // another spelling of tasks_max; folded into TasksMax

	// CPUs is the CPU limit in cores (1.5 = one and a half), applied by the
	// container and systemd runtimes (systemd: CPUQuota=150%). cpu_quota
	// is folded into it.
	CPUs float64 `toml:"cpus"`

	// The keys below are applied by the systemd runtime only (validation
	// refuses them with runtime = "embedded").
	CPUQuota     string     `toml:"cpu_quota"`    // CPUQuota=, like "50%" or "200%"; "" = no limit
	Notify       bool       `toml:"notify"`       // the agent speaks sd_notify: Type=notify
	Watchdog     Duration   `toml:"watchdog"`     // WatchdogSec=; needs notify; 0 = none
	Capabilities []string   `toml:"capabilities"` // kept in CapabilityBoundingSet= and made ambient
	Systemd      RunSystemd `toml:"systemd"`      // [run.systemd]

	// Shell is true when command was written as a string (shell form); set
	// by Parse, not read from TOML.
	Shell bool `toml:"-"`
}

// RunSystemd tunes the unit berth generates for the agent.
type RunSystemd struct {
	// Relax names hardening directives to leave out of the unit, e.g.
	// "MemoryDenyWriteExecute" for a JIT; see Hardening for the names.
	Relax []string `toml:"relax"`
}

// Service is present when the agent takes traffic through berth's proxy.
type Service struct {
	Listen         string   `toml:"listen"`          // host:port users connect to; optional with hosts
	Protocol       string   `toml:"protocol"`        // http (default) | tcp
	RequestTimeout Duration `toml:"request_timeout"` // 0 = none
	// Hosts are the host names the shared front door ([front] of
	// daemon.toml) serves the app on; PathPrefix narrows them to a path.
	Hosts      []string `toml:"hosts"`
	PathPrefix string   `toml:"path_prefix"` // default "/"
	TLS        TLS      `toml:"tls"`         // how the hosts get certificates
}

// Deploy selects and tunes the deploy strategy.
type Deploy struct {
	Strategy     string   `toml:"strategy"`      // default bluegreen with a [service], restart without; "auto" = the planner chooses
	Instances    int      `toml:"instances"`     // copies of the agent that serve at once; default 1
	KeepReleases int      `toml:"keep_releases"` // default 5
	HealthyAfter int      `toml:"healthy_after"` // readiness passes in a row before the switch; default 2
	VerifyFor    Duration `toml:"verify_for"`    // watch window after the switch; default 10s
	DrainTimeout Duration `toml:"drain_timeout"` // default 30s
	KeepWarm     string   `toml:"keep_warm"`     // "until-next-deploy" (default), a duration, or "0s"
	Ports        []int    `toml:"ports"`         // optional: pin blue's and green's ports
	Overlap      *bool    `toml:"overlap"`       // workers: false stops the old one first; default true
	// Rolling: instances started beyond Instances at once (default 1), and
	// below it (default 0), as Kubernetes' maxSurge and maxUnavailable.
	MaxSurge       int `toml:"max_surge"`
	MaxUnavailable int `toml:"max_unavailable"`

	// Verify-window thresholds (breach = automatic rollback).
	MaxErrorRate   float64 `toml:"max_error_rate"`   // 5xx + connection errors / requests; default 0.05
	MaxLatencyRise float64 `toml:"max_latency_rise"` // p99 new / p99 old baseline; default 3.0 (0 disables)
	MinRequests    int     `toml:"min_requests"`     // requests before ratios are judged; default 20

	// Canary tunes strategy = "canary" ([deploy.canary]); nil when the
	// table is absent and the strategy is another.
	Canary *Canary `toml:"canary"`
}

// Constraints declare what a deploy may cost; strategy = "auto" chooses the
// strategy from them and `berth validate` warns when an explicit strategy
// contradicts one that is written.
type Constraints struct {
	Downtime          string `toml:"downtime"`            // "none" | "seconds"; default "seconds" with singleton, else "none"
	Singleton         bool   `toml:"singleton"`           // two copies must never run at once
	MaxExtraInstances int    `toml:"max_extra_instances"` // extra instances the host affords during a deploy; default 1
}

// Downtimes accepted by [constraints] downtime.
const (
	DowntimeNone    = "none"
	DowntimeSeconds = "seconds"
)

// Check is one health probe.
type Check struct {
	Name         string   `toml:"name"`
	Type         string   `toml:"type"` // http | tcp | exec
	Role         string   `toml:"role"` // startup | liveness | readiness (default) | functional
	Path         string   `toml:"path"` // http: request path, default "/"
	Method       string   `toml:"method"`
	ExpectStatus int      `toml:"expect_status"` // http: default 200
	ExpectBody   string   `toml:"expect_body"`   // http: the body must contain this text
	Command      []string `toml:"command"`       // exec: argv run in the release directory
	Interval     Duration `toml:"interval"`      // default 1s (functional: 1m)
	Timeout      Duration `toml:"timeout"`       // default 2s
	Retries      int      `toml:"retries"`       // consecutive failures before unhealthy; default 3
	RecoverAfter int      `toml:"recover_after"` // consecutive passes before a failing check is healthy again; default 1
	StartPeriod  Duration `toml:"start_period"`  // failures here do not count; default 10s
	OnFailure    string   `toml:"on_failure"`    // alert | restart | rollback
	File         string   `toml:"file"`          // heartbeat: a file the agent touches; relative to the app's shared dir
	Pattern      string   `toml:"pattern"`       // heartbeat: a regular expression an output line must match
	Within       Duration `toml:"within"`        // heartbeat: how recent the beat must be; default 1m
}

// Logs tunes the agent's log files.
type Logs struct {
	MaxSize  ByteSize `toml:"max_size"`  // rotate at this size; default 10MB
	MaxAge   Duration `toml:"max_age"`   // ... or at this age; 0 = never by age
	Keep     int      `toml:"keep"`      // rotated files kept; default 10
	KeepFor  Duration `toml:"keep_for"`  // rotated files older than this are deleted; 0 = no age limit
	Compress bool     `toml:"compress"`  // gzip rotated files
	MaxTotal ByteSize `toml:"max_total"` // cap on all of this app's log files; default 500MB
	OnFull   string   `toml:"on_full"`   // drop (default) | block
}

// Duration is a time.Duration written as a Go duration string ("10s", "5m");
// negative durations are rejected. Shared with berth's other config files.
type Duration = tomlconf.Duration

// ByteSize is a size written as "10MB", "512KiB" or a plain number of bytes
// (KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024). Shared with berth's
// other config files.
type ByteSize = tomlconf.ByteSize
