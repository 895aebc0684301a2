package spec

import (
	"fmt"
	"strings"
)

// Init returns a commented berth.toml for `berth init` that Parse accepts.
// name is made into a valid app name first (lowercased, other characters
// turned into '-', cut to 40), falling back to "my-agent", so a directory
// name such as "My_Bot" can be passed as is. Init is safe for concurrent use.
func Init(name string) []byte {
	return fmt.Appendf(nil, initTemplate, Version, CleanName(name))
}

// CleanName turns any string into a valid app name, or "my-agent" when
// nothing usable is left. It is safe for concurrent use.
func CleanName(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	out := strings.TrimLeft(b.String(), "0123456789-")
	if len(out) > 40 {
		out = out[:40]
	}
	out = strings.TrimRight(out, "-")
	if out == "" {
		return "my-agent"
	}
	return out
}

// initTemplate takes the version and the name. Optional keys are shown
// commented out with their defaults, so the file documents itself.
const initTemplate = `# berth app spec. Reference: docs/spec.md
version = %d
name = %q            # lowercase letters, digits, '-'; the agent runs as user berth-<name>

[run]
command = ["./agent"]       # argv, never passed through a shell; run in the release directory
# env = { LOG_LEVEL = "info" } # PORT is set by berth, do not set it here
# stop_timeout = "10s"      # SIGTERM, then SIGKILL to the whole process group
# restart = "always"        # always | on-failure | never

# Keep [service] when the agent takes traffic: users connect to listen, berth
# forwards to the live instance, which must listen on $PORT. Remove it for workers.
[service]
listen = "127.0.0.1:8080"
# protocol = "http"         # http | tcp

[deploy]
# strategy = "bluegreen"    # bluegreen (default with [service]) | restart | auto (see berth plan)
# keep_releases = 5
# healthy_after = 2         # readiness passes in a row before traffic moves
# verify_for = "10s"        # watch window after the switch; a breach rolls back
# drain_timeout = "30s"
# keep_warm = "until-next-deploy" # or a duration, or "0s" to stop the old one at once

# What a deploy may cost; strategy = "auto" chooses from it, and berth validate
# warns when an explicit strategy contradicts it.
# [constraints]
# downtime = "none"          # none | seconds: may users see a short gap?
# singleton = false          # true: two copies must never run at once (one bot token)
# max_extra_instances = 1    # extra instances the host can afford during a deploy

[[checks]]
name = "up"
type = "http"               # http | tcp | exec
path = "/"
# role = "readiness"        # startup | liveness | readiness | functional
# interval = "1s"
# timeout = "2s"
# retries = 3
# start_period = "10s"

# [[checks]]
# name = "selftest"
# role = "functional"
# type = "exec"
# command = ["./agent", "selftest"]
# interval = "5m"
# timeout = "30s"
# on_failure = "alert"      # alert | restart | rollback

[logs]
# max_size = "10MB"         # rotate at this size (MB = 1000*1000 bytes, MiB = 1024*1024)
# max_age = "24h"           # ... or at this age
# keep = 10                 # rotated files kept
# max_total = "500MB"       # cap on all of this app's log files
# on_full = "drop"          # drop | block
`
