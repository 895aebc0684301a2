package spec

import (
	"fmt"
	"math"
	"strings"
	"time"
)

func (v *validator) deploy(d *Deploy, svc *Service) {
	switch d.Strategy {
	case "rolling", "canary":
		v.fail("deploy.strategy", "strategy %q is not available yet; use %q or %q", d.Strategy, StrategyRestart, StrategyBlueGreen)
	default:
		v.oneOf("deploy.strategy", "a strategy", d.Strategy, StrategyRestart, StrategyBlueGreen)
	}
	if d.KeepReleases < 1 {
		v.fail("deploy.keep_releases", "%d is too small; keep at least 1 release (the live one)", d.KeepReleases)
	}
	if d.HealthyAfter < 1 {
		v.fail("deploy.healthy_after", "%d is too small; readiness must pass at least once before traffic moves", d.HealthyAfter)
	}
	if d.KeepWarm != KeepWarmUntilNextDeploy {
		if err := new(Duration).UnmarshalText([]byte(d.KeepWarm)); err != nil {
			v.fail("deploy.keep_warm", "%q is neither %q nor a duration like \"10m\" or \"0s\"", d.KeepWarm, KeepWarmUntilNextDeploy)
		}
	}
	v.ports(d.Ports, svc)
	if !(d.MaxErrorRate >= 0 && d.MaxErrorRate <= 1) {
		v.fail("deploy.max_error_rate", "%v is out of range; use a fraction from 0 to 1, like 0.05 for 5%%", d.MaxErrorRate)
	}
	if d.MaxLatencyRise != 0 && !(d.MaxLatencyRise >= 1 && !math.IsInf(d.MaxLatencyRise, 0)) {
		v.fail("deploy.max_latency_rise", "%v is out of range; use a ratio of 1 or more (3.0 = roll back when p99 latency triples), or 0 to disable", d.MaxLatencyRise)
	}
	if d.MinRequests < 0 {
		v.fail("deploy.min_requests", "%d is negative; use 0 or more", d.MinRequests)
	}
}

// ports checks pinned blue/green ports: none, or two distinct ports apart
// from the public one.
func (v *validator) ports(ports []int, svc *Service) {
	if len(ports) == 0 {
		return
	}
	if len(ports) != 2 {
		v.fail("deploy.ports", "give exactly two ports, one per color, like [9001, 9002], or leave it out to let berth pick")
		return
	}
	listen := 0
	if svc != nil {
		listen, _ = listenPort(svc.Listen)
	}
	for i, p := range ports {
		path := fmt.Sprintf("deploy.ports[%d]", i)
		switch {
		case p < 1 || p > 65535:
			v.fail(path, "%d is not a port; use 1 to 65535", p)
		case p == listen:
			v.fail(path, "%d is also [service] listen's port; the instances need ports of their own", p)
		case i == 1 && p == ports[0]:
			v.fail(path, "%d is used twice; blue and green need different ports", p)
		}
	}
}

func (v *validator) checks(checks []Check, hasService bool) {
	seen := map[string]int{}
	for i := range checks {
		c := &checks[i]
		path := fmt.Sprintf("checks[%d]", i)
		switch j, dup := seen[c.Name]; {
		case v.node(path+".name") == nil:
			v.fail(path+".name", `missing; give the check a name, like name = "up"`)
		case !checkNameRe.MatchString(c.Name):
			v.fail(path+".name", "%q is not a valid check name; use letters, digits, '_', '.' and '-'", c.Name)
		case dup:
			v.fail(path+".name", "%q is already the name of checks[%d]; names must be unique", c.Name, j)
		default:
			seen[c.Name] = i
		}
		v.check(c, path, hasService)
	}
}

func (v *validator) check(c *Check, path string, hasService bool) {
	t := v.node(path)
	switch {
	case t.field("type") == nil:
		v.fail(path+".type", `missing; add type = "http", "tcp" or "exec"`)
	case c.Type == CheckHTTP || c.Type == CheckTCP:
		if !hasService {
			v.fail(path+".type", "%s check probes the instance's own PORT, which berth assigns only to agents with a [service]; add [service] or use type = \"exec\"", article(c.Type))
		}
	case c.Type == CheckExec:
		if len(c.Command) == 0 || c.Command[0] == "" {
			v.fail(path+".command", `an exec check needs a command, like command = ["./my-agent", "selftest"]`)
		}
	default:
		v.oneOf(path+".type", "a check type", c.Type, CheckHTTP, CheckTCP, CheckExec)
	}
	if c.Type != CheckExec && t.field("command") != nil {
		v.fail(path+".command", "only exec checks run a command; remove it or use type = \"exec\"")
	}
	if c.Type != CheckHTTP {
		for _, k := range []string{"path", "method", "expect_status", "expect_body"} {
			if t.field(k) != nil {
				v.fail(path+"."+k, "only http checks use %s; remove it or use type = \"http\"", k)
			}
		}
	} else {
		v.httpCheck(c, path)
	}
	v.noNUL(path+".command", c.Command)
	v.oneOf(path+".role", "a check role", c.Role, RoleStartup, RoleLiveness, RoleReadiness, RoleFunctional)
	if c.OnFailure != "" {
		v.oneOf(path+".on_failure", "a failure action", c.OnFailure, OnFailureAlert, OnFailureRestart, OnFailureRollback)
	}
	v.checkTiming(c, path)
}

func (v *validator) httpCheck(c *Check, path string) {
	if !strings.HasPrefix(c.Path, "/") {
		v.fail(path+".path", "%q must start with \"/\", like \"/up\"", c.Path)
	}
	if strings.ContainsAny(c.Path, " \t\r\n") {
		v.fail(path+".path", "%q contains white space; escape it as %%20", c.Path)
	}
	v.oneOf(path+".method", "an HTTP method", c.Method, "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
	if c.ExpectStatus < 100 || c.ExpectStatus > 599 {
		v.fail(path+".expect_status", "%d is not an HTTP status; use 100 to 599", c.ExpectStatus)
	}
}

func (v *validator) checkTiming(c *Check, path string) {
	if c.Interval.Duration <= 0 {
		v.fail(path+".interval", "must be more than 0s, like \"1s\"")
	}
	// A timeout longer than the interval is allowed (the defaults are 2s and
	// 1s): probes of one check never overlap, a slow one delays the next.
	if c.Timeout.Duration <= 0 {
		v.fail(path+".timeout", "must be more than 0s, like \"2s\"")
	}
	if c.Retries < 1 {
		v.fail(path+".retries", "%d is too small; use 1 or more (failures in a row before the check counts as failing)", c.Retries)
	}
}

func (v *validator) logs(l *Logs) {
	v.oneOf("logs.on_full", "a full-disk policy", l.OnFull, OnFullDrop, OnFullBlock)
	if l.Keep < 0 {
		v.fail("logs.keep", "%d is negative; use 0 or more rotated files", l.Keep)
	}
	if l.MaxSize <= 0 {
		v.fail("logs.max_size", "must be more than 0, like \"10MB\"")
	}
	if l.MaxTotal < l.MaxSize {
		s, _ := l.MaxSize.MarshalText()
		v.fail("logs.max_total", "is smaller than max_size (%s); the cap must hold at least one full file", s)
	}
	if l.MaxAge.Duration != 0 && l.MaxAge.Duration < time.Minute {
		v.fail("logs.max_age", "%v is too short; rotate by age at most once a minute, or use 0s to rotate by size only", l.MaxAge.Duration)
	}
}

// article prefixes a check type with "a" or "an" as it is read aloud.
func article(typ string) string {
	if typ == CheckHTTP {
		return "an " + typ
	}
	return "a " + typ
}
