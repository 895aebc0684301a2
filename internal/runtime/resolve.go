package runtime

// Backend names, as written in the spec's run.runtime.
const (
	BackendEmbedded = "embedded"
	BackendSystemd  = "systemd"
	BackendAuto     = "auto"
	BackendDocker   = "docker"
	BackendPodman   = "podman"
)

// Resolve is the one place where the spec's run.runtime becomes the backend
// that runs the instance: "" is the Router's default, "auto" is systemd when
// the daemon has a systemd backend (systemd is PID 1 and berth is root) and
// the embedded keeper otherwise; any other name is itself, and a backend
// the daemon does not have is refused by Start (ErrNoBackend).
func (r *Router) Resolve(want string) string {
	switch want {
	case "":
		return r.Default
	case BackendAuto:
		if _, ok := r.Backends[BackendSystemd]; ok {
			return BackendSystemd
		}
		return BackendEmbedded
	}
	return want
}
