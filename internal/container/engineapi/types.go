package engineapi

import "encoding/json"

// The JSON of the API, only the fields berth sends or reads, under the
// API's own names.

// ContainerConfig is the portable part of a container to create.
type ContainerConfig struct {
	Image        string              `json:"Image"`
	Env          []string            `json:"Env,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	User         string              `json:"User,omitempty"`
	StopTimeout  *int                `json:"StopTimeout,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"` // "8080/tcp"
}

// HostConfig is the host-dependent part of a container to create.
type HostConfig struct {
	Binds         []string                 `json:"Binds,omitempty"`
	PortBindings  map[string][]PortBinding `json:"PortBindings,omitempty"`
	RestartPolicy RestartPolicy            `json:"RestartPolicy"`
	LogConfig     *LogConfig               `json:"LogConfig,omitempty"`
	Memory        int64                    `json:"Memory,omitempty"`   // bytes
	NanoCPUs      int64                    `json:"NanoCpus,omitempty"` // 1e9 = one core
	PidsLimit     *int64                   `json:"PidsLimit,omitempty"`
}

// PortBinding publishes a container port on a host address.
type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// RestartPolicy is the engine's own restarting; berth sets "no".
type RestartPolicy struct {
	Name string `json:"Name"`
}

// LogConfig is the engine's log driver of a container.
type LogConfig struct {
	Type   string            `json:"Type"`
	Config map[string]string `json:"Config,omitempty"`
}

// CreateRequest is a container to create: its name and configuration.
type CreateRequest struct {
	Name string `json:"-"`
	ContainerConfig
	HostConfig *HostConfig `json:"HostConfig,omitempty"`
}

// ContainerSummary is one container of a list.
type ContainerSummary struct {
	ID     string            `json:"Id"`
	Labels map[string]string `json:"Labels"`
	State  string            `json:"State"` // "running", "exited", "created", ...
}

// ContainerInfo is what berth reads of an inspected container.
type ContainerInfo struct {
	ID    string          `json:"Id"`
	Image string          `json:"Image"`
	State *ContainerState `json:"State"`
}

// ContainerState is an inspected container's state.
type ContainerState struct {
	Status    string `json:"Status"`
	Running   bool   `json:"Running"`
	Pid       int    `json:"Pid"`
	ExitCode  int    `json:"ExitCode"`
	StartedAt string `json:"StartedAt"` // RFC 3339
}

// ImageInfo is what berth reads of an inspected image.
type ImageInfo struct {
	ID     string       `json:"Id"`
	Config *ImageConfig `json:"Config"`
}

// ImageConfig is an image's run configuration.
type ImageConfig struct {
	User       string   `json:"User"`
	Entrypoint strSlice `json:"Entrypoint"`
	Cmd        strSlice `json:"Cmd"`
}

// strSlice is a list of strings that an engine may also write as one
// string (as the Dockerfile's shell form was in old API versions).
type strSlice []string

// UnmarshalJSON reads a list, a string or null.
func (s *strSlice) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = nil
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = strSlice{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*s = list
	return nil
}

// ExecInfo is an inspected exec: whether it still runs, and its exit code.
type ExecInfo struct {
	Running  bool `json:"Running"`
	ExitCode int  `json:"ExitCode"`
}

// Message is one line of a pull's or a build's JSON progress stream.
type Message struct {
	ID       string          `json:"id"`
	Status   string          `json:"status"`
	Stream   string          `json:"stream"` // a build step's output
	Progress json.RawMessage `json:"progressDetail"`
	Error    string          `json:"error"`
	Detail   *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// HasProgress reports whether the line is a byte count of a layer (any
// line with a progressDetail, even empty, as the engines send for each
// layer's steps) rather than a status worth saying.
func (m Message) HasProgress() bool { return len(m.Progress) > 0 && string(m.Progress) != "null" }

// err is the line's error, nil when it reports none.
func (m Message) err() error {
	if m.Detail != nil && m.Detail.Message != "" {
		return &StreamError{Message: m.Detail.Message}
	}
	if m.Error != "" {
		return &StreamError{Message: m.Error}
	}
	return nil
}
