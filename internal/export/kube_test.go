package export_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/berth-dev/berth/internal/export"
	"github.com/berth-dev/berth/internal/spec"
)

// objects is a decoded Kubernetes export.
type objects struct {
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	pdbs        []*policyv1.PodDisruptionBudget
}

// decodeStrict decodes every document of the stream into its k8s.io/api
// type, refusing any field the type does not have.
func decodeStrict(t *testing.T, manifest []byte) objects {
	t.Helper()
	var out objects
	for i, doc := range bytes.Split(manifest, []byte("\n---\n")) {
		if i == 0 {
			continue // the header comment
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var err error
		switch tm.APIVersion + "/" + tm.Kind {
		case "apps/v1/Deployment":
			d := &appsv1.Deployment{}
			err = yaml.UnmarshalStrict(doc, d)
			out.deployments = append(out.deployments, d)
		case "v1/Service":
			s := &corev1.Service{}
			err = yaml.UnmarshalStrict(doc, s)
			out.services = append(out.services, s)
		case "policy/v1/PodDisruptionBudget":
			p := &policyv1.PodDisruptionBudget{}
			err = yaml.UnmarshalStrict(doc, p)
			out.pdbs = append(out.pdbs, p)
		default:
			t.Fatalf("document %d: unexpected %s %s", i, tm.APIVersion, tm.Kind)
		}
		if err != nil {
			t.Fatalf("document %d (%s) does not decode strictly: %v\n%s", i, tm.Kind, err, doc)
		}
	}
	return out
}

// TestKubernetesDecodesStrictly decodes every case's export back into the
// k8s.io/api types and checks that it says what the spec says.
func TestKubernetesDecodesStrictly(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := load(t, tc.name)
			res, err := export.Export(export.TargetKubernetes, app, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			objs := decodeStrict(t, res.Manifest)
			checkDeployments(t, app, objs.deployments)
			wantSvc := 0
			if app.Service != nil {
				wantSvc = 1
			}
			if len(objs.services) != wantSvc {
				t.Fatalf("%d Services, want %d", len(objs.services), wantSvc)
			}
			for _, s := range objs.services {
				checkService(t, app, s, objs.deployments)
			}
			if got, want := len(objs.pdbs), map[bool]int{true: 1, false: 0}[app.Deploy.Instances > 1]; got != want {
				t.Errorf("%d PodDisruptionBudgets for %d instances, want %d", got, app.Deploy.Instances, want)
			}
			if app.Deploy.Strategy == spec.StrategyBlueGreen && !strings.Contains(string(res.Manifest), "#   kubectl patch service "+app.Name+" ") {
				t.Errorf("bluegreen export lacks the kubectl command that flips the selector")
			}
		})
	}
}

func checkDeployments(t *testing.T, app *spec.App, ds []*appsv1.Deployment) {
	t.Helper()
	want := 1
	if app.Deploy.Strategy == spec.StrategyBlueGreen {
		want = 2
	}
	if len(ds) != want {
		t.Fatalf("%d Deployments, want %d", len(ds), want)
	}
	for _, d := range ds {
		for _, msg := range validation.IsDNS1123Label(d.Name) {
			t.Errorf("Deployment name %q: %s", d.Name, msg)
		}
		if *d.Spec.Replicas != int32(app.Deploy.Instances) {
			t.Errorf("%s: replicas %d, want %d", d.Name, *d.Spec.Replicas, app.Deploy.Instances)
		}
		for k, v := range d.Spec.Selector.MatchLabels {
			if d.Spec.Template.Labels[k] != v {
				t.Errorf("%s: selector %s=%s does not match the pod's labels %v", d.Name, k, v, d.Spec.Template.Labels)
			}
		}
		checkRollout(t, app, d)
		pod := d.Spec.Template.Spec
		if got := *pod.TerminationGracePeriodSeconds; got != int64(app.Run.StopTimeout.Seconds()) {
			t.Errorf("%s: terminationGracePeriodSeconds %d, want %v", d.Name, got, app.Run.StopTimeout)
		}
		if len(pod.Containers) != 1 {
			t.Fatalf("%s: %d containers", d.Name, len(pod.Containers))
		}
		checkContainer(t, app, pod.Containers[0])
	}
}

func checkRollout(t *testing.T, app *spec.App, d *appsv1.Deployment) {
	t.Helper()
	s := d.Spec.Strategy
	if app.Deploy.Strategy == spec.StrategyRestart {
		if s.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("%s: restart strategy as %s, want Recreate", d.Name, s.Type)
		}
		return
	}
	if s.RollingUpdate == nil {
		t.Fatalf("%s: no rollingUpdate", d.Name)
	}
	unavailable := s.RollingUpdate.MaxUnavailable.IntValue()
	switch app.Deploy.Strategy {
	case spec.StrategyBlueGreen:
		if unavailable != 0 {
			t.Errorf("%s: bluegreen with maxUnavailable %d, want 0", d.Name, unavailable)
		}
	case spec.StrategyRolling:
		if unavailable != app.Deploy.MaxUnavailable || s.RollingUpdate.MaxSurge.IntValue() != app.Deploy.MaxSurge {
			t.Errorf("%s: maxSurge %v maxUnavailable %v, want %d and %d", d.Name, s.RollingUpdate.MaxSurge, s.RollingUpdate.MaxUnavailable, app.Deploy.MaxSurge, app.Deploy.MaxUnavailable)
		}
	}
}

// checkContainer: a probe for each role that has a carryable check, of the
// check's kind, and the limits.
func checkContainer(t *testing.T, app *spec.App, c corev1.Container) {
	t.Helper()
	probes := map[string]*corev1.Probe{spec.RoleStartup: c.StartupProbe, spec.RoleReadiness: c.ReadinessProbe, spec.RoleLiveness: c.LivenessProbe}
	for role, p := range probes {
		var first *spec.Check
		for i := range app.Checks {
			if ch := app.Checks[i]; ch.Role == role && ch.Type != spec.CheckHeartbeat && first == nil {
				first = &app.Checks[i]
			}
		}
		switch {
		case first == nil && p != nil:
			t.Errorf("a %s probe without a %s check", role, role)
		case first == nil:
		case p == nil:
			t.Errorf("check %q has no %s probe", first.Name, role)
		case first.Type == spec.CheckHTTP && (p.HTTPGet == nil || p.HTTPGet.Path != first.Path),
			first.Type == spec.CheckTCP && p.TCPSocket == nil,
			first.Type == spec.CheckExec && (p.Exec == nil || len(p.Exec.Command) != len(first.Command)):
			t.Errorf("check %q (%s) became the %s probe %+v", first.Name, first.Type, role, p.ProbeHandler)
		}
	}
	if m := app.Run.MemoryMax; m != 0 && c.Resources.Limits.Memory().Value() != int64(m) {
		t.Errorf("memory limit %v, want %d bytes", c.Resources.Limits.Memory(), int64(m))
	}
	if cpus := app.Run.CPUs; cpus != 0 && c.Resources.Limits.Cpu().MilliValue() != int64(cpus*1000) {
		t.Errorf("cpu limit %v, want %v", c.Resources.Limits.Cpu(), cpus)
	}
}

func checkService(t *testing.T, app *spec.App, s *corev1.Service, ds []*appsv1.Deployment) {
	t.Helper()
	selected := 0
	for _, d := range ds {
		all := true
		for k, v := range s.Spec.Selector {
			all = all && d.Spec.Template.Labels[k] == v
		}
		if all {
			selected++
		}
	}
	if selected != 1 {
		t.Errorf("the Service selects the pods of %d Deployments, want 1 (the live color)", selected)
	}
	if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].TargetPort.String() != ds[0].Spec.Template.Spec.Containers[0].Ports[0].Name {
		t.Errorf("service ports %+v do not target the container's port", s.Spec.Ports)
	}
}

// TestStrictDecoderRefusesUnknownFields: the decoder the test relies on
// refuses what the types lack, so a misspelt field in an export fails.
func TestStrictDecoderRefusesUnknownFields(t *testing.T) {
	res, err := export.Export(export.TargetKubernetes, load(t, "rolling"), export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Split(string(res.Manifest), "\n---\n")[1]
	bad := strings.Replace(doc, "  minReadySeconds:", "  minReadySecond:", 1)
	if bad == doc {
		t.Fatal("the Deployment has no minReadySeconds to misspell")
	}
	if err := yaml.UnmarshalStrict([]byte(bad), &appsv1.Deployment{}); err == nil {
		t.Error("UnmarshalStrict accepted an unknown field")
	}
}

// TestKubernetesAsK8sAPIWritesIt: each object, decoded into its k8s.io/api
// type and written again the way Kubernetes' own types write themselves
// (JSON field names, their omitempty, keys sorted; status left out), is the
// document berth wrote: no field berth sets is lost, none is written that
// Kubernetes would omit, and none that it writes (resources: {}) is missing.
func TestKubernetesAsK8sAPIWritesIt(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := export.Export(export.TargetKubernetes, load(t, tc.name), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			objs := decodeStrict(t, res.Manifest)
			var again []any
			for _, d := range objs.deployments {
				again = append(again, d)
			}
			for _, s := range objs.services {
				again = append(again, s)
			}
			for _, p := range objs.pdbs {
				again = append(again, p)
			}
			docs := bytes.Split(res.Manifest, []byte("\n---\n"))[1:]
			if len(docs) != len(again) {
				t.Fatalf("%d documents, %d objects", len(docs), len(again))
			}
			for i, o := range again {
				want := k8sYAML(t, o)
				got := string(withoutComments(docs[i]))
				if i < len(docs)-1 {
					got += "\n" // the separator took it
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("object %d as k8s.io/api writes it (-k8s +berth):\n%s", i, d)
				}
			}
		})
	}
}

// k8sYAML writes a k8s.io/api object as kubectl's YAML, without status.
func k8sYAML(t *testing.T, o any) string {
	t.Helper()
	j, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "status")
	y, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(y)
}

func withoutComments(doc []byte) []byte {
	var out []byte
	for _, l := range bytes.SplitAfter(doc, []byte("\n")) {
		if !bytes.HasPrefix(l, []byte("#")) {
			out = append(out, l...)
		}
	}
	return out
}
