package spec

import (
	"time"

	"github.com/berth-dev/berth/internal/tomlconf"
)

// Defaults that the docs (docs/spec.md) promise; keep the two in step.
const (
	DefaultStopTimeout    = 10 * time.Second
	DefaultKeepReleases   = 5
	DefaultHealthyAfter   = 2
	DefaultVerifyFor      = 10 * time.Second
	DefaultDrainTimeout   = 30 * time.Second
	DefaultMaxErrorRate   = 0.05
	DefaultMaxLatencyRise = 3.0
	DefaultMinRequests    = 20

	DefaultCheckInterval           = time.Second
	DefaultFunctionalCheckInterval = time.Minute
	DefaultCheckTimeout            = 2 * time.Second
	DefaultCheckRetries            = 3
	DefaultHeartbeatWithin         = time.Minute
	DefaultHeartbeatInterval       = 5 * time.Second
	DefaultCheckStartPeriod        = 10 * time.Second

	DefaultLogMaxSize  = 10 * MB
	DefaultLogKeep     = 10
	DefaultLogMaxTotal = 500 * MB
)

// Runtimes, failure actions and log policies accepted by the spec.
const (
	RuntimeEmbedded = "embedded"
	RuntimeAuto     = "auto"
	RuntimeSystemd  = "systemd"
	RuntimeDocker   = "docker" // the Docker engine's API
	RuntimePodman   = "podman" // Podman's Docker-compatible API

	OnFailureAlert    = "alert"
	OnFailureRestart  = "restart"
	OnFailureRollback = "rollback"

	OnFullDrop  = "drop"
	OnFullBlock = "block"
)

// applyDefaults fills what the file left out. It asks the tree whether a key
// was written rather than testing for zero values, so an explicit 0 or false
// (keep = 0, compress = false, max_latency_rise = 0) is kept.
func applyDefaults(app *App, root *tomlconf.Node) {
	run := root.Field("run")
	setDur(&app.Run.StopTimeout, run, "stop_timeout", DefaultStopTimeout)
	setStr(&app.Run.Restart, run, "restart", RestartAlways)
	setStr(&app.Run.Runtime, run, "runtime", RuntimeEmbedded)

	if app.Service != nil {
		setStr(&app.Service.Protocol, root.Field("service"), "protocol", ProtocolHTTP)
	}

	dep := root.Field("deploy")
	strategy := StrategyRestart
	if app.Service != nil {
		strategy = StrategyBlueGreen
	}
	setStr(&app.Deploy.Strategy, dep, "strategy", strategy)
	setInt(&app.Deploy.Instances, dep, "instances", 1)
	setInt(&app.Deploy.KeepReleases, dep, "keep_releases", DefaultKeepReleases)
	setInt(&app.Deploy.HealthyAfter, dep, "healthy_after", DefaultHealthyAfter)
	setInt(&app.Deploy.MaxSurge, dep, "max_surge", 1)
	setDur(&app.Deploy.VerifyFor, dep, "verify_for", DefaultVerifyFor)
	setDur(&app.Deploy.DrainTimeout, dep, "drain_timeout", DefaultDrainTimeout)
	setStr(&app.Deploy.KeepWarm, dep, "keep_warm", KeepWarmUntilNextDeploy)
	if app.Deploy.Overlap == nil {
		t := true
		app.Deploy.Overlap = &t
	}
	setFloat(&app.Deploy.MaxErrorRate, dep, "max_error_rate", DefaultMaxErrorRate)
	setFloat(&app.Deploy.MaxLatencyRise, dep, "max_latency_rise", DefaultMaxLatencyRise)
	setInt(&app.Deploy.MinRequests, dep, "min_requests", DefaultMinRequests)
	canaryDefaults(&app.Deploy, dep.Field("canary"))

	constraintDefaults(&app.Constraints, root.Field("constraints"))

	if checks := root.Field("checks"); checks != nil {
		for i := range app.Checks {
			if items := checks.Items(); i < len(items) {
				checkDefaults(&app.Checks[i], items[i])
			}
		}
	}

	logs := root.Field("logs")
	setSize(&app.Logs.MaxSize, logs, "max_size", DefaultLogMaxSize)
	setInt(&app.Logs.Keep, logs, "keep", DefaultLogKeep)
	if logs.Field("compress") == nil {
		app.Logs.Compress = true
	}
	setSize(&app.Logs.MaxTotal, logs, "max_total", DefaultLogMaxTotal)
	setStr(&app.Logs.OnFull, logs, "on_full", OnFullDrop)
}

// constraintDefaults: a singleton always has a gap (the old copy stops
// before the new one starts), so its default downtime is "seconds".
func constraintDefaults(c *Constraints, t *tomlconf.Node) {
	downtime := DowntimeNone
	if c.Singleton {
		downtime = DowntimeSeconds
	}
	setStr(&c.Downtime, t, "downtime", downtime)
	setInt(&c.MaxExtraInstances, t, "max_extra_instances", 1)
}

func checkDefaults(c *Check, t *tomlconf.Node) {
	role, retries := RoleReadiness, DefaultCheckRetries
	if c.Type == CheckHeartbeat {
		// A stalled agent is restarted; the window is the tolerance.
		role, retries = RoleLiveness, 1
		setDur(&c.Within, t, "within", DefaultHeartbeatWithin)
	}
	setStr(&c.Role, t, "role", role)
	if c.Type == CheckHTTP {
		setStr(&c.Path, t, "path", "/")
		setStr(&c.Method, t, "method", "GET")
		setInt(&c.ExpectStatus, t, "expect_status", 200)
	}
	interval := DefaultCheckInterval
	switch {
	case c.Type == CheckHeartbeat:
		interval = DefaultHeartbeatInterval
	case c.Role == RoleFunctional:
		interval = DefaultFunctionalCheckInterval
	}
	setDur(&c.Interval, t, "interval", interval)
	setDur(&c.Timeout, t, "timeout", DefaultCheckTimeout)
	setInt(&c.Retries, t, "retries", retries)
	setInt(&c.RecoverAfter, t, "recover_after", 1)
	setDur(&c.StartPeriod, t, "start_period", DefaultCheckStartPeriod)
	switch c.Role {
	case RoleLiveness:
		setStr(&c.OnFailure, t, "on_failure", OnFailureRestart)
	case RoleFunctional:
		setStr(&c.OnFailure, t, "on_failure", OnFailureAlert)
	}
}

func setStr(dst *string, t *tomlconf.Node, key, def string) {
	if t.Field(key) == nil {
		*dst = def
	}
}

func setInt(dst *int, t *tomlconf.Node, key string, def int) {
	if t.Field(key) == nil {
		*dst = def
	}
}

func setFloat(dst *float64, t *tomlconf.Node, key string, def float64) {
	if t.Field(key) == nil {
		*dst = def
	}
}

func setDur(dst *Duration, t *tomlconf.Node, key string, def time.Duration) {
	if t.Field(key) == nil {
		dst.Duration = def
	}
}

func setSize(dst *ByteSize, t *tomlconf.Node, key string, def ByteSize) {
	if t.Field(key) == nil {
		*dst = def
	}
}
