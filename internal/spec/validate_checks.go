package spec

import (
	"fmt"
	"regexp"
	"strings"
)

func (v *validator) checks(checks []Check, hasService bool) {
	seen := map[string]int{}
	for i := range checks {
		c := &checks[i]
		path := fmt.Sprintf("checks[%d]", i)
		switch j, dup := seen[c.Name]; {
		case v.node(path+".name") == nil:
			v.fail(path+".name", `missing; give the check a name, like name = "up"`)
		case !matchMax(checkNameRe, c.Name, maxCheckName):
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
	case t.Field("type") == nil:
		v.fail(path+".type", `missing; add type = "http", "tcp", "exec" or "heartbeat"`)
	case c.Type == CheckHTTP || c.Type == CheckTCP:
		if !hasService {
			v.fail(path+".type", "%s check probes the instance's own PORT, which berth assigns only to agents with a [service]; add [service] or use type = \"exec\"", article(c.Type))
		}
	case c.Type == CheckExec:
		if len(c.Command) == 0 || c.Command[0] == "" {
			v.fail(path+".command", `an exec check needs a command, like command = ["./my-agent", "selftest"]`)
		}
	case c.Type == CheckHeartbeat:
		v.heartbeat(c, path)
	default:
		v.oneOf(path+".type", "a check type", c.Type, CheckHTTP, CheckTCP, CheckExec, CheckHeartbeat)
	}
	if c.Type != CheckHeartbeat {
		for _, k := range []string{"file", "pattern", "within"} {
			if t.Field(k) != nil {
				v.fail(path+"."+k, "only heartbeat checks use %s; remove it or use type = \"heartbeat\"", k)
			}
		}
	}
	if c.Type != CheckExec && t.Field("command") != nil {
		v.fail(path+".command", "only exec checks run a command; remove it or use type = \"exec\"")
	}
	if c.Type != CheckHTTP {
		for _, k := range []string{"path", "method", "expect_status", "expect_body"} {
			if t.Field(k) != nil {
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

func (v *validator) heartbeat(c *Check, path string) {
	switch {
	case (c.File == "") == (c.Pattern == ""):
		v.fail(path+".type", `a heartbeat check needs exactly one of file = "beat" (its modification time) or pattern = "processed \\d+" (an output line)`)
	case c.Pattern != "":
		if _, err := regexp.Compile(c.Pattern); err != nil {
			v.fail(path+".pattern", "not a regular expression: %v", err)
		}
	case strings.Contains(c.File, "..") || strings.ContainsRune(c.File, 0):
		v.fail(path+".file", "%q must stay inside the app's shared directory (no \"..\")", c.File)
	}
	if c.Within.Duration <= 0 {
		v.fail(path+".within", `must be more than 0s, like "1m"`)
	}
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
	if c.RecoverAfter < 1 {
		v.fail(path+".recover_after", "%d is too small; use 1 or more (passes in a row before a failing check counts as healthy again)", c.RecoverAfter)
	}
	if c.Retries < 1 {
		v.fail(path+".retries", "%d is too small; use 1 or more (failures in a row before the check counts as failing)", c.Retries)
	}
}

// article prefixes a check type with "a" or "an" as it is read aloud.
func article(typ string) string {
	if typ == CheckHTTP {
		return "an " + typ
	}
	return "a " + typ
}
