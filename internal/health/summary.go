package health

import "github.com/berth-dev/berth/internal/spec"

// Summary is an instance's health as `berth status` shows it, from the
// latest result of each of its readiness and liveness checks (last, by
// check name): "ok", "failing: CHECK (ROLE): ERR" for the first failing one
// in spec order, or "no checks". It reports false until each such check has
// a result.
func Summary(checks []spec.Check, last map[string]Result) (string, bool) {
	n := 0
	for _, c := range checks {
		c = normalize(c)
		if c.Role != spec.RoleReadiness && c.Role != spec.RoleLiveness {
			continue
		}
		n++
		r, ok := last[c.Name]
		if !ok {
			return "", false
		}
		if !r.OK {
			return "failing: " + c.Name + " (" + c.Role + "): " + r.Err, true
		}
	}
	if n == 0 {
		return "no checks", true
	}
	return "ok", true
}
