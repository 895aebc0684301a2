package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/berth-dev/berth/internal/spec"
)

// Label keys berth puts on the objects it exports.
const (
	LabelName  = "app.kubernetes.io/name"
	LabelColor = "berth/color" // blue or green: the Service's selector is the switch
)

// kubernetes renders Deployments (two for bluegreen), a Service when the
// app takes traffic and a PodDisruptionBudget when it runs more than one
// instance, as one YAML stream.
func (in *input) kubernetes() (Result, error) {
	a := in.app
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s, exported by berth from %s\n", a.Name, base(a.File))
	pod := in.podTemplate()
	var objs []any
	if a.Deploy.Strategy == spec.StrategyBlueGreen {
		for _, color := range []string{"blue", "green"} {
			objs = append(objs, in.deployment(a.Name+"-"+color, color, pod))
		}
		in.note("deploy.strategy", false, "bluegreen: deploy a release to the idle color (kubectl set image deployment/%s-green %s=IMAGE; kubectl rollout status deployment/%s-green), then flip the Service's selector (the command is in the manifest)", a.Name, a.Name, a.Name)
		if a.Service == nil {
			in.note("deploy.strategy", false, "a worker has no Service to switch: both colors run; scale the old one to 0 after the new one is ready")
		}
	} else {
		objs = append(objs, in.deployment(a.Name, "", pod))
	}
	if a.Service != nil {
		objs = append(objs, in.service())
	}
	if a.Deploy.Instances > 1 {
		objs = append(objs, in.pdb())
	}
	for i, o := range objs {
		y, err := marshal(o)
		if err != nil {
			return Result{}, fmt.Errorf("encoding object %d: %w", i, err)
		}
		b.WriteString("---\n")
		if _, ok := o.(*kubeService); ok && a.Deploy.Strategy == spec.StrategyBlueGreen {
			fmt.Fprintf(&b, "# The selector's %s is the switch; to move traffic to green:\n#   kubectl patch service %s -p '{\"spec\":{\"selector\":{%q:\"green\"}}}'\n", LabelColor, a.Name, LabelColor)
		}
		b.Write(y)
	}
	return Result{Manifest: b.Bytes(), Notes: in.notes}, nil
}

// marshal writes an object as YAML as kubectl does: the JSON field names
// and omissions, keys sorted, lists not indented under their key.
func marshal(o any) ([]byte, error) {
	j, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(j))
	d.UseNumber()
	var m any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	if err := enc.Encode(integers(m)); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// integers turns the decoded JSON numbers back into integers (every number
// berth writes is one), so that YAML writes them as they were.
func integers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = integers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = integers(e)
		}
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
		return v.String()
	}
	return v
}

func (in *input) labels(color string) map[string]string {
	l := map[string]string{LabelName: in.app.Name}
	if color != "" {
		l[LabelColor] = color
	}
	return l
}

func (in *input) deployment(name, color string, pod podTemplateSpec) *kubeDeployment {
	d := in.app.Deploy
	pod.Metadata.Labels = in.labels(color)
	pod.Spec.Containers = slices.Clone(pod.Spec.Containers)
	return &kubeDeployment{
		typeMeta: typeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		Metadata: objectMeta{Name: name, Labels: in.labels(color)},
		Spec: deploymentSpec{
			Replicas: ptr(int32(d.Instances)),
			Selector: &labelSelector{MatchLabels: in.labels(color)},
			Template: pod,
			Strategy: in.rollout(),
			// A new pod must stay ready for the verify window before it
			// counts as available: the rollout goes on only then.
			MinReadySeconds: secs(d.VerifyFor.Duration),
		},
	}
}

// rollout maps the strategy: surge and unavailability as berth's, 0
// unavailable for bluegreen and rolling, Recreate for restart.
func (in *input) rollout() deploymentStrategy {
	d := in.app.Deploy
	surge, unavailable := 1, 0
	switch d.Strategy {
	case spec.StrategyRestart:
		return deploymentStrategy{Type: strategyRecreate}
	case spec.StrategyBlueGreen:
		surge = d.Instances
	case spec.StrategyRolling:
		surge, unavailable = d.MaxSurge, d.MaxUnavailable
	}
	s, u := fromInt(surge), fromInt(unavailable)
	return deploymentStrategy{
		Type:          strategyRollingUpdate,
		RollingUpdate: &rollingUpdateDeployment{MaxSurge: &s, MaxUnavailable: &u},
	}
}

func (in *input) podTemplate() podTemplateSpec {
	a := in.app
	c := container{
		Name:           a.Name,
		Image:          in.image,
		Command:        kubeEscape(in.command),
		Env:            envVars(in.env),
		Resources:      kubeLimits(a.Run),
		StartupProbe:   in.probe(spec.RoleStartup),
		ReadinessProbe: in.probe(spec.RoleReadiness),
		LivenessProbe:  in.probe(spec.RoleLiveness),
	}
	if in.port != 0 {
		c.Ports = []containerPort{{Name: "service", ContainerPort: int32(in.port), Protocol: "TCP"}}
	}
	if a.Run.TasksMax != 0 {
		in.note("run.tasks_max", true, "Kubernetes sets the pids limit per node (the kubelet's podPidsLimit), not per container")
	}
	if a.Run.Restart != spec.RestartAlways {
		in.note("run.restart", true, "a Deployment always restarts its containers (restart = %q needs a Job)", a.Run.Restart)
	}
	in.note("logs", true, "the kubelet rotates container logs (containerLogMaxSize, containerLogMaxFiles); berth's [logs] settings do not apply")
	return podTemplateSpec{Spec: podSpec{
		Containers:                    []container{c},
		TerminationGracePeriodSeconds: ptr(int64(secs(a.Run.StopTimeout.Duration))),
	}}
}

func (in *input) service() *kubeService {
	color := ""
	if in.app.Deploy.Strategy == spec.StrategyBlueGreen {
		color = "blue"
	}
	return &kubeService{
		typeMeta: typeMeta{APIVersion: "v1", Kind: "Service"},
		Metadata: objectMeta{Name: in.app.Name, Labels: in.labels("")},
		Spec: serviceSpec{
			Selector: in.labels(color),
			Ports: []servicePort{{Name: "service", Port: int32(in.port),
				TargetPort: fromName("service"), Protocol: "TCP"}},
		},
	}
}

// pdb keeps all but one instance through voluntary disruptions (a node
// drain), as berth's rolling keeps them through a deploy.
func (in *input) pdb() *kubePDB {
	one := fromInt(1)
	return &kubePDB{
		typeMeta: typeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		Metadata: objectMeta{Name: in.app.Name, Labels: in.labels("")},
		Spec: pdbSpec{
			MaxUnavailable: &one,
			Selector:       &labelSelector{MatchLabels: in.labels("")},
		},
	}
}

func kubeLimits(r spec.Run) resourceRequirements {
	l := map[string]string{}
	if r.MemoryMax != 0 {
		l["memory"] = binaryQuantity(int64(r.MemoryMax))
	}
	if r.CPUs != 0 {
		l["cpu"] = decimalQuantity(int64(math.Round(r.CPUs*1000)), -3)
	}
	if len(l) == 0 {
		return resourceRequirements{}
	}
	return resourceRequirements{Limits: l}
}

func envVars(env map[string]string) []envVar {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]envVar, 0, len(keys))
	for _, k := range keys {
		out = append(out, envVar{Name: k, Value: strings.ReplaceAll(env[k], "$", "$$")})
	}
	return out
}

// kubeEscape doubles every $ of a container's command: the kubelet expands
// $(VAR) there, and what berth wrote must reach the agent as written.
func kubeEscape(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = strings.ReplaceAll(a, "$", "$$")
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// secs is d in whole seconds, rounded up: Kubernetes' fields are seconds.
func secs(d time.Duration) int32 {
	return int32((d + time.Second - 1) / time.Second)
}

func ptr[T any](v T) *T { return &v }
