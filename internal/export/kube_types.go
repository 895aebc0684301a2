package export

import (
	"encoding/json"
	"strconv"
)

// The Kubernetes objects berth writes, as small structs with the field
// names and omitempty of k8s.io/api (apps/v1, core/v1, policy/v1) for the
// fields berth sets, and nothing else. berth only writes manifests: linking
// k8s.io/api for that put 48 packages, their scheme registrations and 10 MB
// of binary into every berth process (daemon, keeper and front alike). The
// tests decode the output strictly into the k8s.io/api types, so a field
// misspelt here fails them.

type typeMeta struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
}

type objectMeta struct {
	Name   string            `json:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

type labelSelector struct {
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

type kubeDeployment struct {
	typeMeta
	Metadata objectMeta     `json:"metadata"`
	Spec     deploymentSpec `json:"spec"`
}

type deploymentSpec struct {
	Replicas        *int32             `json:"replicas,omitempty"`
	Selector        *labelSelector     `json:"selector,omitempty"`
	Template        podTemplateSpec    `json:"template"`
	Strategy        deploymentStrategy `json:"strategy"`
	MinReadySeconds int32              `json:"minReadySeconds,omitempty"`
}

type deploymentStrategy struct {
	Type          string                   `json:"type,omitempty"`
	RollingUpdate *rollingUpdateDeployment `json:"rollingUpdate,omitempty"`
}

// Values of deploymentStrategy.Type.
const (
	strategyRecreate      = "Recreate"
	strategyRollingUpdate = "RollingUpdate"
)

type rollingUpdateDeployment struct {
	MaxUnavailable *intOrString `json:"maxUnavailable,omitempty"`
	MaxSurge       *intOrString `json:"maxSurge,omitempty"`
}

type podTemplateSpec struct {
	Metadata objectMeta `json:"metadata"`
	Spec     podSpec    `json:"spec"`
}

type podSpec struct {
	Containers                    []container `json:"containers"`
	TerminationGracePeriodSeconds *int64      `json:"terminationGracePeriodSeconds,omitempty"`
}

type container struct {
	Name           string               `json:"name"`
	Image          string               `json:"image,omitempty"`
	Command        []string             `json:"command,omitempty"`
	Ports          []containerPort      `json:"ports,omitempty"`
	Env            []envVar             `json:"env,omitempty"`
	Resources      resourceRequirements `json:"resources"`
	LivenessProbe  *probe               `json:"livenessProbe,omitempty"`
	ReadinessProbe *probe               `json:"readinessProbe,omitempty"`
	StartupProbe   *probe               `json:"startupProbe,omitempty"`
}

type containerPort struct {
	Name          string `json:"name,omitempty"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"`
}

type envVar struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// resourceRequirements' limits map "cpu" and "memory" to quantities in
// Kubernetes' canonical form (quantity.go).
type resourceRequirements struct {
	Limits map[string]string `json:"limits,omitempty"`
}

type probe struct {
	Exec                *execAction      `json:"exec,omitempty"`
	HTTPGet             *httpGetAction   `json:"httpGet,omitempty"`
	TCPSocket           *tcpSocketAction `json:"tcpSocket,omitempty"`
	InitialDelaySeconds int32            `json:"initialDelaySeconds,omitempty"`
	TimeoutSeconds      int32            `json:"timeoutSeconds,omitempty"`
	PeriodSeconds       int32            `json:"periodSeconds,omitempty"`
	SuccessThreshold    int32            `json:"successThreshold,omitempty"`
	FailureThreshold    int32            `json:"failureThreshold,omitempty"`
}

type execAction struct {
	Command []string `json:"command,omitempty"`
}

type httpGetAction struct {
	Path   string      `json:"path,omitempty"`
	Port   intOrString `json:"port"`
	Scheme string      `json:"scheme,omitempty"`
}

type tcpSocketAction struct {
	Port intOrString `json:"port"`
}

type kubeService struct {
	typeMeta
	Metadata objectMeta  `json:"metadata"`
	Spec     serviceSpec `json:"spec"`
}

type serviceSpec struct {
	Ports    []servicePort     `json:"ports,omitempty"`
	Selector map[string]string `json:"selector,omitempty"`
}

type servicePort struct {
	Name       string      `json:"name,omitempty"`
	Protocol   string      `json:"protocol,omitempty"`
	Port       int32       `json:"port"`
	TargetPort intOrString `json:"targetPort"`
}

type kubePDB struct {
	typeMeta
	Metadata objectMeta `json:"metadata"`
	Spec     pdbSpec    `json:"spec"`
}

type pdbSpec struct {
	Selector       *labelSelector `json:"selector,omitempty"`
	MaxUnavailable *intOrString   `json:"maxUnavailable,omitempty"`
}

// intOrString is Kubernetes' IntOrString: a number, or a name such as a
// port's.
type intOrString struct {
	num   int32
	name  string
	isStr bool
}

func fromInt(n int) intOrString     { return intOrString{num: int32(n)} }
func fromName(s string) intOrString { return intOrString{name: s, isStr: true} }

// MarshalJSON writes the number or the name, as Kubernetes reads either.
func (v intOrString) MarshalJSON() ([]byte, error) {
	if v.isStr {
		return json.Marshal(v.name)
	}
	return strconv.AppendInt(nil, int64(v.num), 10), nil
}
