package export

import (
	"fmt"
	"strings"

	"github.com/berth-dev/berth/internal/spec"
)

// probe carries the first check of role as the pod's probe of that role:
// http → httpGet, tcp → tcpSocket, exec → exec. Nil when the role has none.
func (in *input) probe(role string) *probe {
	c, i := in.checkOf(role, func(spec.Check) bool { return true })
	if i < 0 {
		return nil
	}
	key := fmt.Sprintf("checks[%d] %q", i, c.Name)
	p := &probe{
		PeriodSeconds:    max(secs(c.Interval.Duration), 1),
		TimeoutSeconds:   max(secs(c.Timeout.Duration), 1),
		FailureThreshold: int32(max(c.Retries, 1)),
		SuccessThreshold: int32(max(c.RecoverAfter, 1)),
	}
	if c.Interval.Duration%1e9 != 0 || c.Timeout.Duration%1e9 != 0 {
		in.note(key, false, "Kubernetes counts probe times in whole seconds: interval %s and timeout %s are rounded up", c.Interval.Duration, c.Timeout.Duration)
	}
	switch role {
	case spec.RoleReadiness:
		// Readiness failures before the first pass only keep the pod out
		// of the Service, which is what start_period means for it.
		p.SuccessThreshold = int32(max(c.RecoverAfter, in.app.Deploy.HealthyAfter, 1))
	default:
		if p.SuccessThreshold > 1 {
			in.note(key, true, "Kubernetes requires a %s probe to pass once (recover_after = %d)", role, c.RecoverAfter)
			p.SuccessThreshold = 1
		}
		if role == spec.RoleLiveness && !in.has(spec.RoleStartup) {
			p.InitialDelaySeconds = secs(c.StartPeriod.Duration)
		}
	}
	if !in.handler(key, c, p) {
		return nil
	}
	return p
}

// handler fills what the probe runs; false when the check cannot be one.
func (in *input) handler(key string, c spec.Check, p *probe) bool {
	switch c.Type {
	case spec.CheckExec:
		p.Exec = &execAction{Command: in.expand(key+".command", c.Command, false)}
		return true
	case spec.CheckTCP, spec.CheckHTTP:
		if in.port == 0 {
			in.note(key, true, "a %s check of a worker: the spec has no [service] port for the probe", c.Type)
			return false
		}
	}
	port := fromName("service")
	if c.Type == spec.CheckTCP {
		p.TCPSocket = &tcpSocketAction{Port: port}
		return true
	}
	p.HTTPGet = &httpGetAction{Path: c.Path, Port: port, Scheme: "HTTP"}
	var lost []string
	if c.Method != "" && c.Method != "GET" {
		lost = append(lost, fmt.Sprintf("method %s (a probe sends GET)", c.Method))
	}
	if c.ExpectStatus != 200 {
		lost = append(lost, fmt.Sprintf("expect_status = %d (a probe passes on any 200 to 399)", c.ExpectStatus))
	}
	if c.ExpectBody != "" {
		lost = append(lost, fmt.Sprintf("expect_body %q (a probe reads no body; use an exec check)", c.ExpectBody))
	}
	if len(lost) > 0 {
		in.note(key, true, "%s", strings.Join(lost, "; "))
	}
	return true
}

func (in *input) has(role string) bool {
	for _, c := range in.app.Checks {
		if c.Role == role && c.Type != spec.CheckHeartbeat {
			return true
		}
	}
	return false
}
