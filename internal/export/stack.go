package export

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/berth-dev/berth/internal/spec"
)

// stackVersion is the compose file format docker stack deploy reads; it
// has deploy.resources.limits.pids and rollback_config.
const stackVersion = "3.9"

// stackFile is a compose file, as docker stack deploy (Swarm) and docker
// compose read it; only the keys berth writes.
type stackFile struct {
	Version  string              `yaml:"version,omitempty"`
	Services map[string]*service `yaml:"services"`
}

type service struct {
	Image           string            `yaml:"image"`
	Command         []string          `yaml:"command,omitempty"`
	Environment     map[string]string `yaml:"environment,omitempty"`
	Healthcheck     *healthcheck      `yaml:"healthcheck,omitempty"`
	StopGracePeriod string            `yaml:"stop_grace_period"`
	Restart         string            `yaml:"restart,omitempty"`
	Ports           []port            `yaml:"ports,omitempty"`
	Logging         *logging          `yaml:"logging,omitempty"`
	Deploy          deployment        `yaml:"deploy"`
}

type healthcheck struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval"`
	Timeout     string   `yaml:"timeout"`
	Retries     int      `yaml:"retries"`
	StartPeriod string   `yaml:"start_period"`
}

type port struct {
	Target    int    `yaml:"target"`
	Published int    `yaml:"published"`
	HostIP    string `yaml:"host_ip,omitempty"`
	Protocol  string `yaml:"protocol"`
	Mode      string `yaml:"mode,omitempty"`
}

type logging struct {
	Driver  string            `yaml:"driver"`
	Options map[string]string `yaml:"options"`
}

type deployment struct {
	Replicas       int            `yaml:"replicas"`
	EndpointMode   string         `yaml:"endpoint_mode,omitempty"`
	UpdateConfig   *updateConfig  `yaml:"update_config,omitempty"`
	RollbackConfig *updateConfig  `yaml:"rollback_config,omitempty"`
	RestartPolicy  *restartPolicy `yaml:"restart_policy,omitempty"`
	Resources      *resources     `yaml:"resources,omitempty"`
}

type updateConfig struct {
	Parallelism     int     `yaml:"parallelism"` // 0 = all at once
	Delay           string  `yaml:"delay"`
	FailureAction   string  `yaml:"failure_action"`
	Monitor         string  `yaml:"monitor"`
	MaxFailureRatio float64 `yaml:"max_failure_ratio"`
	Order           string  `yaml:"order"`
}

type restartPolicy struct {
	Condition string `yaml:"condition"`
}

type resources struct {
	Limits limits `yaml:"limits"`
}

type limits struct {
	CPUs   string `yaml:"cpus,omitempty"`
	Memory string `yaml:"memory,omitempty"`
	Pids   int    `yaml:"pids,omitempty"`
}

// stack renders the compose file: for docker stack deploy when swarm,
// else for docker compose.
func (in *input) stack(swarm bool) (Result, error) {
	a := in.app
	s := &service{
		Image:           in.image,
		Command:         in.command,
		Environment:     in.env,
		Healthcheck:     in.healthcheck(),
		StopGracePeriod: dur(a.Run.StopTimeout.Duration),
		Ports:           in.ports(swarm),
		Logging:         in.logging(),
		Deploy:          deployment{Replicas: a.Deploy.Instances, Resources: stackLimits(a.Run)},
	}
	if swarm {
		update := in.updateConfig()
		rollback := update
		rollback.FailureAction = "pause" // a failed rollback stops where it is
		s.Deploy.UpdateConfig, s.Deploy.RollbackConfig = &update, &rollback
		s.Deploy.RestartPolicy = &restartPolicy{Condition: map[string]string{
			spec.RestartAlways: "any", spec.RestartOnFailure: "on-failure", spec.RestartNever: "none"}[a.Run.Restart]}
		if in.port != 0 && in.o.Publish == PublishNone {
			s.Deploy.EndpointMode = "dnsrr"
		}
	} else {
		s.Restart = map[string]string{spec.RestartAlways: "always", spec.RestartOnFailure: "on-failure", spec.RestartNever: "no"}[a.Run.Restart]
		if a.Deploy.Strategy != spec.StrategyRestart {
			in.note("deploy.strategy", true, "docker compose has no rolling update: `docker compose up` stops and recreates a changed service's containers (a gap); use the swarm target for %s", a.Deploy.Strategy)
		}
	}
	f := stackFile{Services: map[string]*service{a.Name: s}}
	if swarm {
		f.Version = stackVersion
	} else if in.port != 0 && a.Deploy.Instances > 1 {
		in.note("deploy.instances", false, "docker compose publishes %d on one host: %d containers cannot all bind it; scale behind a proxy or use the swarm target", in.port, a.Deploy.Instances)
	}
	escape(s) // both interpolate ${VAR} from the shell that deploys
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s, exported by berth from %s\n", a.Name, base(a.File))
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return Result{}, fmt.Errorf("encoding the stack file: %w", err)
	}
	return Result{Manifest: b.Bytes(), Notes: in.notes}, nil
}

// healthcheck carries one check as Docker's HEALTHCHECK, which runs in the
// container: exec checks only, readiness first (it gates a start-first
// update), then liveness, then startup.
func (in *input) healthcheck() *healthcheck {
	chosen := -1
	for _, role := range []string{spec.RoleReadiness, spec.RoleLiveness, spec.RoleStartup} {
		for i, c := range in.app.Checks {
			if chosen < 0 && c.Role == role && c.Type == spec.CheckExec {
				chosen = i
			}
		}
	}
	for i, c := range in.app.Checks {
		key := fmt.Sprintf("checks[%d] %q", i, c.Name)
		switch {
		case i == chosen || c.Type == spec.CheckHeartbeat || c.Role == spec.RoleFunctional:
		case c.Type == spec.CheckHTTP || c.Type == spec.CheckTCP:
			in.note(key, true, "Docker runs health checks inside the container, so %s check needs a client in the image (a FROM scratch image has none): "+
				`add an exec check the image can run, such as command = ["/agent", "healthcheck"], and export again`, map[string]string{spec.CheckHTTP: "an HTTP", spec.CheckTCP: "a TCP"}[c.Type])
		default:
			in.note(key, true, "Docker holds one health check per container; checks[%d] %q is the one carried", chosen, in.app.Checks[chosen].Name)
		}
	}
	if chosen < 0 {
		in.note("checks", false, "no exec check to carry: the image's own HEALTHCHECK applies, else Swarm counts a task healthy once it runs")
		return nil
	}
	c := in.app.Checks[chosen]
	if c.Role == spec.RoleReadiness && in.app.Deploy.HealthyAfter > 1 {
		in.note("deploy.healthy_after", true, "Docker counts a container healthy after one pass, not %d", in.app.Deploy.HealthyAfter)
	}
	key := fmt.Sprintf("checks[%d].command", chosen)
	return &healthcheck{
		Test:     append([]string{"CMD"}, in.expand(key, c.Command, false)...),
		Interval: dur(c.Interval.Duration), Timeout: dur(c.Timeout.Duration),
		Retries: c.Retries, StartPeriod: dur(c.StartPeriod.Duration),
	}
}

// updateConfig maps the strategy onto Swarm's rolling update. A failed
// update is rolled back by Swarm itself; verify_for is the monitor window.
func (in *input) updateConfig() updateConfig {
	d := in.app.Deploy
	u := updateConfig{Parallelism: 1, Delay: "0s", FailureAction: "rollback", Monitor: dur(d.VerifyFor.Duration), Order: "start-first"}
	switch d.Strategy {
	case spec.StrategyBlueGreen:
		u.Parallelism = d.Instances // the whole new set starts before the old stops
		if d.KeepWarm != "0s" {
			in.note("deploy.keep_warm", true, "Swarm stops the old tasks once the new ones are up; `docker service rollback` starts the previous spec again (not instant)")
		}
	case spec.StrategyRolling:
		u.Parallelism = d.MaxSurge
		if d.MaxSurge == 0 {
			u.Parallelism, u.Order = max(d.MaxUnavailable, 1), "stop-first"
		}
	case spec.StrategyRestart:
		u.Parallelism, u.Order = d.Instances, "stop-first"
	}
	if u.Order == "start-first" && in.port != 0 && in.o.Publish == PublishHost {
		in.note("service.listen", false, "published with mode: host (no routing mesh assumed): a node holds one task of the port, so a start-first update needs a node without one for each new task; "+
			"on a single node export with --publish none (a proxy on the stack's network) or --publish ingress")
	}
	return u
}

func (in *input) ports(swarm bool) []port {
	if in.port == 0 || (swarm && in.o.Publish == PublishNone) {
		return nil
	}
	p := port{Target: in.port, Published: in.port, Protocol: "tcp"}
	switch {
	case !swarm:
		p.HostIP = in.host
	case in.o.Publish == PublishHost:
		p.Mode = "host"
		if in.host != "" && in.host != "0.0.0.0" && in.host != "::" {
			in.note("service.listen", true, "Swarm publishes on every address of the node, not only %s; firewall it", in.host)
		}
	default:
		p.Mode = "ingress"
	}
	return []port{p}
}

// logging carries the size-based rotation to the json-file driver.
func (in *input) logging() *logging {
	l := in.app.Logs
	in.note("logs", true, "max_total, keep_for, max_age and on_full are berth's; the json-file driver rotates by max_size and keep only")
	return &logging{Driver: "json-file", Options: map[string]string{
		"max-size": strconv.FormatInt(int64(l.MaxSize), 10), "max-file": strconv.Itoa(l.Keep + 1),
		"compress": strconv.FormatBool(l.Compress),
	}}
}

func stackLimits(r spec.Run) *resources {
	if r.MemoryMax == 0 && r.CPUs == 0 && r.TasksMax == 0 {
		return nil
	}
	l := limits{Pids: r.TasksMax}
	if r.MemoryMax != 0 {
		l.Memory = strconv.FormatInt(int64(r.MemoryMax), 10)
	}
	if r.CPUs != 0 {
		l.CPUs = strconv.FormatFloat(r.CPUs, 'f', -1, 64)
	}
	return &resources{Limits: l}
}

// escape doubles every $ of a compose file: docker stack deploy and docker
// compose interpolate ${VAR} from the shell that runs them, and what berth
// wrote must reach the container as written.
func escape(s *service) {
	e := func(v string) string { return strings.ReplaceAll(v, "$", "$$") }
	for i := range s.Command {
		s.Command[i] = e(s.Command[i])
	}
	for k, v := range s.Environment {
		s.Environment[k] = e(v)
	}
	if s.Healthcheck != nil {
		for i := range s.Healthcheck.Test {
			s.Healthcheck.Test[i] = e(s.Healthcheck.Test[i])
		}
	}
	s.Image = e(s.Image)
}

// dur writes a duration as Go and Docker read it ("1m30s").
func dur(d time.Duration) string { return d.String() }

func base(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}
