package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

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
		if _, ok := o.(*corev1.Service); ok && a.Deploy.Strategy == spec.StrategyBlueGreen {
			fmt.Fprintf(&b, "# The selector's %s is the switch; to move traffic to green:\n#   kubectl patch service %s -p '{\"spec\":{\"selector\":{%q:\"green\"}}}'\n", LabelColor, a.Name, LabelColor)
		}
		b.Write(y)
	}
	return Result{Manifest: b.Bytes(), Notes: in.notes}, nil
}

// marshal writes an object as YAML without its status, which is the
// cluster's to fill.
func marshal(o any) ([]byte, error) {
	j, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	return yaml.Marshal(m)
}

func (in *input) labels(color string) map[string]string {
	l := map[string]string{LabelName: in.app.Name}
	if color != "" {
		l[LabelColor] = color
	}
	return l
}

func (in *input) deployment(name, color string, pod corev1.PodTemplateSpec) *appsv1.Deployment {
	d := in.app.Deploy
	pod.Labels = in.labels(color)
	pod.Spec.Containers = slices.Clone(pod.Spec.Containers)
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: in.labels(color)},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(d.Instances)),
			Selector: &metav1.LabelSelector{MatchLabels: in.labels(color)},
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
func (in *input) rollout() appsv1.DeploymentStrategy {
	d := in.app.Deploy
	surge, unavailable := 1, 0
	switch d.Strategy {
	case spec.StrategyRestart:
		return appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	case spec.StrategyBlueGreen:
		surge = d.Instances
	case spec.StrategyRolling:
		surge, unavailable = d.MaxSurge, d.MaxUnavailable
	}
	s, u := intstr.FromInt32(int32(surge)), intstr.FromInt32(int32(unavailable))
	return appsv1.DeploymentStrategy{
		Type:          appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &s, MaxUnavailable: &u},
	}
}

func (in *input) podTemplate() corev1.PodTemplateSpec {
	a := in.app
	c := corev1.Container{
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
		c.Ports = []corev1.ContainerPort{{Name: "service", ContainerPort: int32(in.port), Protocol: corev1.ProtocolTCP}}
	}
	if a.Run.TasksMax != 0 {
		in.note("run.tasks_max", true, "Kubernetes sets the pids limit per node (the kubelet's podPidsLimit), not per container")
	}
	if a.Run.Restart != spec.RestartAlways {
		in.note("run.restart", true, "a Deployment always restarts its containers (restart = %q needs a Job)", a.Run.Restart)
	}
	in.note("logs", true, "the kubelet rotates container logs (containerLogMaxSize, containerLogMaxFiles); berth's [logs] settings do not apply")
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		Containers:                    []corev1.Container{c},
		TerminationGracePeriodSeconds: ptr(int64(secs(a.Run.StopTimeout.Duration))),
	}}
}

func (in *input) service() *corev1.Service {
	color := ""
	if in.app.Deploy.Strategy == spec.StrategyBlueGreen {
		color = "blue"
	}
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: in.app.Name, Labels: in.labels("")},
		Spec: corev1.ServiceSpec{
			Selector: in.labels(color),
			Ports: []corev1.ServicePort{{Name: "service", Port: int32(in.port),
				TargetPort: intstr.FromString("service"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// pdb keeps all but one instance through voluntary disruptions (a node
// drain), as berth's rolling keeps them through a deploy.
func (in *input) pdb() *policyv1.PodDisruptionBudget {
	one := intstr.FromInt32(1)
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: metav1.ObjectMeta{Name: in.app.Name, Labels: in.labels("")},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: &one,
			Selector:       &metav1.LabelSelector{MatchLabels: in.labels("")},
		},
	}
}

func kubeLimits(r spec.Run) corev1.ResourceRequirements {
	l := corev1.ResourceList{}
	if r.MemoryMax != 0 {
		l[corev1.ResourceMemory] = *resource.NewQuantity(int64(r.MemoryMax), resource.BinarySI)
	}
	if r.CPUs != 0 {
		l[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(math.Round(r.CPUs*1000)), resource.DecimalSI)
	}
	if len(l) == 0 {
		return corev1.ResourceRequirements{}
	}
	return corev1.ResourceRequirements{Limits: l}
}

func envVars(env map[string]string) []corev1.EnvVar {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]corev1.EnvVar, 0, len(keys))
	for _, k := range keys {
		out = append(out, corev1.EnvVar{Name: k, Value: strings.ReplaceAll(env[k], "$", "$$")})
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
