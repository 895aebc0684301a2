package container

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/container/engineapi"
	"github.com/berth-dev/berth/internal/runtime"
)

// engineLogMax caps each of the engine's own log files of a container.
const engineLogMax = "20m"

// createOptions is the container of inst running image (an image id).
func (r *Runtime) createOptions(inst runtime.Instance, img imageInfo) (engineapi.CreateRequest, error) {
	raw, err := json.Marshal(inst)
	if err != nil {
		return engineapi.CreateRequest{}, fmt.Errorf("recording the instance: %w", err)
	}
	env, err := containerEnv(inst)
	if err != nil {
		return engineapi.CreateRequest{}, err
	}
	stop := int(inst.StopTimeout.Seconds() + 0.999)
	cfg := engineapi.ContainerConfig{
		Image:       img.id,
		Env:         env,
		User:        userFor(inst, img.user),
		StopTimeout: &stop,
		Labels: map[string]string{
			labelHome: r.home, labelApp: inst.App, labelInstance: inst.ID,
			labelRelease: inst.Release, labelImage: img.ref, labelSpec: string(raw),
		},
	}
	if len(inst.Argv) > 0 {
		cfg.Cmd = inst.Argv
	}
	host := &engineapi.HostConfig{RestartPolicy: engineapi.RestartPolicy{Name: "no"}}
	setResources(host, inst)
	if r.engine == Docker {
		// berth's log is the record; the engine's copy only has to bridge
		// a daemon restart, so it is capped instead of growing forever.
		host.LogConfig = &engineapi.LogConfig{Type: "json-file", Config: map[string]string{"max-size": engineLogMax, "max-file": "2"}}
	}
	if inst.Shared != "" {
		host.Binds = []string{inst.Shared + ":" + inst.Shared}
	}
	if inst.Port > 0 {
		if inst.Port > 65535 {
			return engineapi.CreateRequest{}, fmt.Errorf("publishing port %d: not a TCP port", inst.Port)
		}
		p := strconv.Itoa(inst.Port) + "/tcp"
		cfg.ExposedPorts = map[string]struct{}{p: {}}
		host.PortBindings = map[string][]engineapi.PortBinding{p: {{HostIP: "127.0.0.1", HostPort: strconv.Itoa(inst.Port)}}}
	}
	return engineapi.CreateRequest{Name: r.name(inst.ID), ContainerConfig: cfg, HostConfig: host}, nil
}

// setResources sets the spec's limits in the engine's units.
func setResources(host *engineapi.HostConfig, inst runtime.Instance) {
	host.Memory, host.NanoCPUs = inst.MemoryMax, int64(inst.CPUs*1e9)
	if inst.TasksMax > 0 {
		n := int64(inst.TasksMax)
		host.PidsLimit = &n
	}
}

// userFor is who the container runs as: the spec's user when written (a
// user of the image, "root" included), else the image's USER when it is
// not root, else berth's account for the app by number. An agent never
// runs as root unless the spec says so, as with processes.
func userFor(inst runtime.Instance, imageUser string) string {
	if inst.SpecUser != "" {
		return inst.SpecUser
	}
	if imageUser != "" && !isRoot(imageUser) {
		return imageUser
	}
	return fmt.Sprintf("%d:%d", inst.UID, inst.GID)
}

// isRoot reports whether an image's USER ("name", "uid", "user:group")
// is root.
func isRoot(u string) bool {
	name, _, _ := strings.Cut(u, ":")
	return name == "root" || name == "0"
}

// containerEnv is the instance's environment for inside the container: the
// image's PATH stays (the host's PATH means nothing in the image), and the
// secrets are read now and set as variables.
func containerEnv(inst runtime.Instance) ([]string, error) {
	env := make([]string, 0, len(inst.Env)+len(inst.Secrets))
	for _, kv := range inst.Env {
		if !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	for _, name := range inst.Secrets {
		b, err := os.ReadFile(filepath.Join(inst.SecretDir, name))
		if err != nil {
			return nil, fmt.Errorf("reading secret %s: %w", name, err)
		}
		env = append(env, name+"="+strings.TrimRight(string(b), "\n"))
	}
	return env, nil
}
