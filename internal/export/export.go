// Package export turns an app's spec into manifests for an orchestrator
// that already exists: a Docker Swarm stack, a Docker Compose file, or
// Kubernetes objects. What the target cannot carry is returned as notes,
// never dropped in silence.
//
// Everything here is a pure function of its arguments and safe for
// concurrent use.
package export

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/spec"
)

// Targets accepted by Export.
const (
	TargetSwarm      = "swarm"
	TargetCompose    = "compose"
	TargetKubernetes = "kubernetes"
)

// Publishing modes of a Swarm service's port (Options.Publish).
const (
	PublishHost    = "host"    // the node's own port: no routing mesh assumed (default)
	PublishIngress = "ingress" // Swarm's routing mesh
	PublishNone    = "none"    // no published port: a proxy on the stack's network reaches the tasks
)

// ErrNoImage is matched by the error Export returns for a spec that runs
// a command on the host and no image was given.
var ErrNoImage = errors.New("no image to run")

// Options tune an export.
type Options struct {
	// Image replaces the spec's image (or stands for a build = "." one).
	Image string
	// Publish is how a Swarm stack publishes the service's port:
	// PublishHost (default), PublishIngress or PublishNone.
	Publish string
}

// Note is something of the spec the target does not carry as berth runs
// it: left out (Dropped) or carried differently, with what to do.
type Note struct {
	Key     string // the spec key, such as "checks[1]" or "deploy.verify_for"
	Msg     string
	Dropped bool // not in the manifest at all
}

// String is the note as berth export prints it on stderr.
func (n Note) String() string {
	if n.Dropped {
		return "not carried: " + n.Key + ": " + n.Msg
	}
	return "note: " + n.Key + ": " + n.Msg
}

// Result is a manifest and what it does not carry.
type Result struct {
	Manifest []byte
	Notes    []Note
}

// Export renders app (a spec whose strategy is resolved: not "auto") for
// target.
func Export(target string, app *spec.App, o Options) (Result, error) {
	if app.Deploy.Strategy == spec.StrategyAuto {
		return Result{}, errors.New("exporting: the strategy is still \"auto\"; resolve it with the planner first")
	}
	in, err := newInput(app, o)
	if err != nil {
		return Result{}, err
	}
	switch target {
	case TargetSwarm:
		return in.stack(true)
	case TargetCompose:
		return in.stack(false)
	case TargetKubernetes:
		return in.kubernetes()
	}
	return Result{}, fmt.Errorf("exporting: unknown target %q; use %s, %s or %s", target, TargetSwarm, TargetCompose, TargetKubernetes)
}

// input is what every target reads, worked out once.
type input struct {
	app     *spec.App
	o       Options
	image   string
	port    int               // the container's port (PORT); 0 for a worker
	host    string            // the listen address's host part
	env     map[string]string // run.env plus PORT
	command []string          // run.command, berth's expansion done
	notes   []Note
}

func newInput(app *spec.App, o Options) (*input, error) {
	in := &input{app: app, o: o, env: map[string]string{}}
	if in.o.Publish == "" {
		in.o.Publish = PublishHost
	}
	if !slices.Contains([]string{PublishHost, PublishIngress, PublishNone}, in.o.Publish) {
		return nil, fmt.Errorf("exporting: publish %q: use %s, %s or %s", in.o.Publish, PublishHost, PublishIngress, PublishNone)
	}
	if err := in.resolveImage(); err != nil {
		return nil, err
	}
	if s := app.Service; s != nil {
		host, p, err := net.SplitHostPort(s.Listen)
		if err != nil {
			return nil, fmt.Errorf("exporting: reading service.listen %q: %w", s.Listen, err)
		}
		in.port, _ = strconv.Atoi(p)
		in.host = host
		in.env["PORT"] = p
	}
	for k, v := range app.Run.Env {
		in.env[k] = v
	}
	in.command = in.expand("run.command", app.Run.Command, app.Run.ShellExpands())
	in.common()
	return in, nil
}

// resolveImage picks the image: --image, run.image, or for build = "."
// the tag a plain docker build of it would get, with a note.
func (in *input) resolveImage() error {
	r := in.app.Run
	switch {
	case in.o.Image != "":
		in.image = in.o.Image
		if !spec.IsContainer(r.Runtime) && len(r.Command) > 0 {
			in.note("run.command", false, "runs inside the image %s: its paths (%s) are the image's, relative to its WORKDIR", in.image, r.Command[0])
		}
	case r.Image != "":
		in.image = r.Image
	case r.Build != "":
		in.image = in.app.Name + ":latest"
		in.note("run.build", false, "an orchestrator runs images, not Dockerfiles: build and push one (docker build -t REGISTRY/%s:TAG %s && docker push REGISTRY/%s:TAG), "+
			"then export with --image REGISTRY/%s:TAG; this manifest names %s, which only a node that built it has", in.app.Name, r.Build, in.app.Name, in.app.Name, in.image)
	default:
		return fmt.Errorf("exporting %s: %w: the spec runs a command on the host (runtime = %q); build an image of the release and give --image NAME:TAG, "+
			"or set runtime = %q with image = \"NAME:TAG\" under [run]", in.app.Name, ErrNoImage, r.Runtime, spec.RuntimeDocker)
	}
	return nil
}

// common notes what no target carries.
func (in *input) common() {
	a := in.app
	r := a.Run
	if r.User != "" && r.User != "root" {
		in.note("run.user", true, "the image's USER runs the agent; set it in the image (berth runs %q)", r.User)
	}
	if len(r.Secrets) > 0 {
		in.note("run.secrets", true, "%s: berth's secrets stay on the berth server; create them in the orchestrator (docker secret create / kubectl create secret) and give them to the service", strings.Join(r.Secrets, ", "))
	}
	if r.EnvFile != "" {
		in.note("run.env_file", true, "%s is read on the berth server; pass its variables as the orchestrator's secrets", r.EnvFile)
	}
	if r.Notify || r.Watchdog.Duration > 0 || len(r.Capabilities) > 0 || len(r.Systemd.Relax) > 0 {
		in.note("run", true, "notify, watchdog, capabilities and [run.systemd] apply to berth's systemd units only")
	}
	if a.Service != nil {
		in.note("deploy.drain_timeout", true, "berth drains the old instance for up to %s; the orchestrator takes a task out of its load balancing and stops it, "+
			"so run.stop_timeout (%s) bounds the drain there", a.Deploy.DrainTimeout.Duration, a.Run.StopTimeout.Duration)
	}
	if a.Service != nil && a.Service.RequestTimeout.Duration > 0 {
		in.note("service.request_timeout", true, "berth's proxy applies it; set it on the load balancer in front of the service")
	}
	switch a.Deploy.Strategy {
	case spec.StrategyBlueGreen, spec.StrategyRolling, spec.StrategyCanary:
		if a.Service != nil {
			in.note("deploy.max_error_rate", true, "berth's verify-window analysis (max_error_rate, max_latency_rise, min_requests over verify_for) watches the proxy's traffic; "+
				"the orchestrator watches the health checks only")
		}
	}
	if a.Deploy.Strategy == spec.StrategyCanary {
		in.note("deploy.strategy", true, "canary: berth's canary analysis (a share of traffic, judged before promotion) has no equivalent here; the manifest rolls out one instance at a time")
	}
	for i, c := range a.Checks {
		key := fmt.Sprintf("checks[%d] %q", i, c.Name)
		switch {
		case c.Type == spec.CheckHeartbeat:
			in.note(key, true, "a heartbeat check (a file or output line newer than %s) is berth's own; make it an exec check the image can run", c.Within.Duration)
		case c.Role == spec.RoleFunctional:
			in.note(key, true, "functional checks are berth's (berth check app); run them from the orchestrator's monitoring")
		}
	}
}

func (in *input) note(key string, dropped bool, format string, args ...any) {
	in.notes = append(in.notes, Note{Key: key, Msg: fmt.Sprintf(format, args...), Dropped: dropped})
}

// varRe matches what berth expands in an exec-form argv: $$, ${NAME}, $NAME.
var varRe = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// expand does berth's expansion of an exec-form argv with what the
// manifest's environment holds, since a container's exec form expands
// nothing. A variable only a berth instance has (BERTH_COLOR, HOME) is
// left as written, with a note. Shell-expanded argv are left to the shell.
func (in *input) expand(key string, argv []string, shell bool) []string {
	if shell || len(argv) == 0 {
		return slices.Clone(argv)
	}
	out := make([]string, len(argv))
	var unknown []string
	for i, arg := range argv {
		out[i] = varRe.ReplaceAllStringFunc(arg, func(m string) string {
			if m == "$$" {
				return "$"
			}
			name := strings.Trim(m, "${}")
			if v, ok := in.env[name]; ok {
				return v
			}
			unknown = append(unknown, name)
			return m
		})
	}
	if len(unknown) > 0 {
		in.note(key, true, "berth expands %s in an exec-form argv from the instance's environment, which the manifest lacks: left as written", strings.Join(unknown, ", "))
	}
	return out
}

// checkOf returns the first check of role (and its index), or -1; the
// others of the role are noted as not carried, since both targets hold one
// check per role.
func (in *input) checkOf(role string, fits func(spec.Check) bool) (spec.Check, int) {
	found := -1
	for i, c := range in.app.Checks {
		if c.Role != role || c.Type == spec.CheckHeartbeat || !fits(c) {
			continue
		}
		if found >= 0 {
			in.note(fmt.Sprintf("checks[%d] %q", i, c.Name), true, "the target holds one %s check; checks[%d] %q is the one carried", role, found, in.app.Checks[found].Name)
			continue
		}
		found = i
	}
	if found < 0 {
		return spec.Check{}, -1
	}
	return in.app.Checks[found], found
}
