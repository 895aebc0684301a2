package cli

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/remote"
)

// HostEnvVar selects the remote host when --host is not given.
const HostEnvVar = "BERTH_HOST"

// localOnly commands act on this machine itself; --host does not apply.
var localOnly = map[string]bool{
	"daemon": true, "keeper": true, "provision": true, "unprovision": true, "demo": true,
	"dial-stdio": true, "sample-agent": true, "init": true, "validate": true, "context": true,
	"logrotate-config": true, "completion": true, "help": true, "selftest": true,
	"export": true,
}

// checkHost refuses an explicit --host on a command that cannot use it,
// and several hosts on anything but deploy.
func (a *app) checkHost(cmd *cobra.Command) error {
	top := cmd
	for top.HasParent() && top.Parent().HasParent() {
		top = top.Parent()
	}
	a.local = localOnly[top.Name()]
	if len(a.hosts) > 0 && a.local {
		return usage("%s runs on the server itself; --host does not apply (run it there, or use berth --host HOST setup)", top.Name())
	}
	if len(a.hosts) > 1 && top.Name() != "deploy" {
		return usage("only deploy takes several --host (one after the other); %s takes one", top.Name())
	}
	return nil
}

// targets is where commands go: --host (repeatable), else $BERTH_HOST,
// else the active context; none = the local daemon.
func (a *app) targets() ([]remote.Target, error) {
	if a.local {
		return nil, nil
	}
	urls := a.hosts
	if len(urls) == 0 {
		if h := os.Getenv(HostEnvVar); h != "" {
			urls = []string{h}
		} else if h, err := a.activeContext(); err != nil {
			return nil, err
		} else if h != "" {
			urls = []string{h}
		}
	}
	var out []remote.Target
	for _, u := range urls {
		t, err := remote.ParseTarget(u)
		if err != nil {
			return nil, usage("%v", err)
		}
		out = append(out, t)
	}
	return out, nil
}

// activeContext is the host of the active context, "" when none.
func (a *app) activeContext() (string, error) {
	p, err := remote.ContextsFile()
	if err != nil {
		return "", nil // no home directory: no contexts
	}
	c, err := remote.LoadContexts(p)
	if errors.Is(err, fs.ErrPermission) {
		return "", nil // another user's file (sudo -u keeps HOME): not ours to follow
	}
	if err != nil {
		return "", err
	}
	return c.Active(), nil
}

// remoteClient is a client of the daemon on t, through ssh.
func remoteClient(t remote.Target) *api.Client {
	d := remote.Dialer{Target: t}
	return api.NewDialClient(t.URL, func(ctx context.Context) (net.Conn, error) { return d.Dial(ctx) })
}
