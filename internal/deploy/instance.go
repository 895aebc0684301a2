package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/release"
	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/systemd"
	"github.com/berth-dev/berth/internal/sysuser"
)

// defaultPath is the PATH agents get unless their spec sets one.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// instanceFor builds the runtime instance of app's color running rel.
func (e *Engine) instanceFor(ctx context.Context, app *spec.App, id instance.ID, rel release.Release, port int) (runtime.Instance, error) {
	// A container's run.user names a user of the image; on the host it
	// runs as berth's account for the app (the uid it gets unless the
	// image or the spec says otherwise).
	want := app.Run.User
	if spec.IsContainer(app.Run.Runtime) {
		want = ""
	}
	acct, err := sysuser.ForApp(ctx, app.Name, want)
	if err != nil {
		return runtime.Instance{}, err
	}
	if err := e.prepareDirs(app.Name, acct); err != nil {
		return runtime.Instance{}, err
	}
	r := app.Run
	env := e.environ(app, id, rel, port)
	argv, err := r.Argv(env)
	if err != nil {
		return runtime.Instance{}, err
	}
	inst := runtime.Instance{
		ID:          id.String(),
		Backend:     r.Runtime, // resolved by runtime.Router.Resolve
		App:         app.Name,
		Argv:        argv,
		Dir:         rel.Dir,
		Env:         env,
		User:        acct.Name,
		UID:         acct.UID,
		GID:         acct.GID,
		Restart:     app.Run.Restart,
		StopTimeout: app.Run.StopTimeout.Duration,
		LogPath:     e.home.LogFile(app.Name, id.Slot()),
		Log: logs.Options{
			MaxSize:  int64(app.Logs.MaxSize),
			MaxAge:   app.Logs.MaxAge.Duration,
			Keep:     app.Logs.Keep,
			KeepFor:  app.Logs.KeepFor.Duration,
			Compress: app.Logs.Compress,
			MaxTotal: int64(app.Logs.MaxTotal),
			OnFull:   app.Logs.OnFull,
		},
		MemoryMax:    int64(r.MemoryMax),
		CPUQuota:     r.CPUQuota,
		TasksMax:     r.TasksMax,
		Notify:       r.Notify,
		Watchdog:     r.Watchdog.Duration,
		Capabilities: r.Capabilities,
		Relax:        r.Systemd.Relax,
		// Names only: the runtime reads the values at each start.
		Secrets:    r.Secrets,
		SecretDir:  e.home.SecretsDir(app.Name),
		SecretsEnv: r.SecretsEnv,
	}
	if r.EnvFile != "" {
		inst.EnvFile = systemd.AppPaths{Home: e.home, App: app.Name}.EnvFile()
	}
	if spec.IsContainer(r.Runtime) {
		inst.Image, inst.Build, inst.Release = r.Image, r.Build, rel.ID
		inst.Port, inst.CPUs, inst.SpecUser = port, r.CPUs, r.User
		inst.Shared = e.home.SharedDir(app.Name)
	}
	return inst, nil
}

// execIn runs exec checks inside the container of a container instance;
// nil (run on the host) for the others.
func execIn(rt runtime.Runtime, id, backend string) func(context.Context, []string) error {
	x, ok := rt.(runtime.Execer)
	if !ok || !spec.IsContainer(backend) {
		return nil
	}
	return func(ctx context.Context, argv []string) error { return x.Exec(ctx, id, argv) }
}

// environ is the agent's whole environment: a minimal base, the spec's env,
// then what berth sets (PORT and BERTH_HEARTBEAT win over everything).
func (e *Engine) environ(app *spec.App, id instance.ID, rel release.Release, port int) []string {
	env := map[string]string{
		"PATH":           defaultPath,
		"LANG":           "C.UTF-8",
		"HOME":           e.home.SharedDir(app.Name),
		"BERTH_APP":      app.Name,
		"BERTH_COLOR":    id.Color,
		"BERTH_INSTANCE": strconv.Itoa(id.Index),
		"BERTH_RELEASE":  rel.ID,
		"BERTH_SHARED":   e.home.SharedDir(app.Name),
	}
	for k, v := range app.Run.Env {
		env[k] = v
	}
	if port != 0 {
		env["PORT"] = strconv.Itoa(port)
	}
	if f := heartbeatFile(app.Checks); f != "" {
		env["BERTH_HEARTBEAT"] = health.HeartbeatPath(e.home.SharedDir(app.Name), f, id.Slot())
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// heartbeatFile is the file of the app's first heartbeat file check, the
// one $BERTH_HEARTBEAT names; "" when it has none.
func heartbeatFile(checks []spec.Check) string {
	for _, c := range checks {
		if c.Type == spec.CheckHeartbeat && c.File != "" {
			return c.File
		}
	}
	return ""
}

// prepareDirs makes the app's shared directory writable by its user and its
// log directory exist.
func (e *Engine) prepareDirs(app string, acct sysuser.Account) error {
	shared := e.home.SharedDir(app)
	if err := os.MkdirAll(shared, 0o750); err != nil {
		return fmt.Errorf("creating shared dir: %w", err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(shared, int(acct.UID), int(acct.GID)); err != nil {
			return fmt.Errorf("giving %s to %s: %w", shared, acct.Name, err)
		}
		// Releases are read-only for the agent, but it must reach them.
		if err := release.Share(filepath.Dir(shared), int(acct.GID)); err != nil {
			return fmt.Errorf("opening releases to %s: %w", acct.Name, err)
		}
	}
	return os.MkdirAll(e.home.LogDir(app), 0o750)
}
