// Package container is the runtime.Runtime of the container engines: each
// instance is a container of the Docker engine or of Podman (through its
// Docker-compatible API socket), created and supervised by berth. The engine
// is reached through its HTTP API with berth's own small client
// (internal/container/engineapi), never through the docker CLI.
package container

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/berth-dev/berth/internal/container/engineapi"
)

// Engine names.
const (
	Docker = "docker"
	Podman = "podman"
)

// ErrUnreachable is returned when the engine does not answer.
var ErrUnreachable = errors.New("container engine not reachable")

// Host is where the engine's API is, found the way its own CLI finds it:
// Docker from DOCKER_HOST, else /var/run/docker.sock; Podman from
// CONTAINER_HOST, else the rootful service socket /run/podman/podman.sock
// (started with `podman system service --time=0`).
func Host(engine string, getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if engine == Podman {
		if h := getenv("CONTAINER_HOST"); h != "" {
			return h
		}
		return "unix:///run/podman/podman.sock"
	}
	if h := getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return defaultDockerHost
}

// defaultDockerHost is where Docker listens unless told otherwise.
const defaultDockerHost = "unix:///var/run/docker.sock"

// dial makes a client of host. It does not connect: the first call does,
// so a daemon starts whether or not the engine is up.
func dial(host string) (*engineapi.Client, error) {
	c, err := engineapi.New(host)
	if err != nil {
		return nil, fmt.Errorf("making a client of %s: %w", host, err)
	}
	return c, nil
}

// ping checks the engine answers, naming where it was looked for and how
// to make it answer.
func (r *Runtime) ping(ctx context.Context) error {
	if _, err := r.cli.Ping(ctx); err != nil {
		hint := "start it (systemctl start docker) or set DOCKER_HOST"
		if r.engine == Podman {
			hint = "start it (podman system service --time=0 unix:///run/podman/podman.sock) or set CONTAINER_HOST"
		}
		return fmt.Errorf("%w: %s at %s: %v; %s", ErrUnreachable, r.engine, r.host, err, hint)
	}
	return nil
}
