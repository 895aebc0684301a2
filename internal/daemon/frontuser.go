package daemon

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/internal/front"
	"github.com/berth-dev/berth/internal/sysuser"
)

// frontUser resolves daemon.toml's [front] user into who the front runs
// as: nil for the daemon's own credentials (a daemon that is not root, or
// user = "root"). A root daemon under an outside supervisor (systemd) runs
// it as config.DefaultFrontUser, created when missing, or as the user
// named, which must exist: the process facing the internet (TLS, HTTP
// parsing, ACME) must not be root. A root daemon that its front restarts
// (selfRestart) keeps the front root unless a user is named: only a root
// front can start a root daemon again.
func frontUser(ctx context.Context, f config.Front, file string, selfRestart bool) (*front.User, error) {
	where := cmp.Or(f.UserAt, file)
	if os.Geteuid() != 0 {
		if f.User == "" {
			return nil, nil
		}
		self, err := sysuser.Lookup(strconv.Itoa(os.Geteuid()))
		if err == nil && self.Name == f.User {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: front.user: %q: only a root daemon can run the front as another user; remove the key (the front runs as the daemon's user)", where, f.User)
	}
	if f.User == "" && selfRestart {
		return nil, nil
	}
	var a sysuser.Account
	var err error
	if f.User == "" {
		a, err = sysuser.Ensure(ctx, config.DefaultFrontUser)
	} else {
		a, err = sysuser.Lookup(f.User)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: front.user: %w; create it (useradd --system --user-group --no-create-home --shell /usr/sbin/nologin NAME) or leave the key out for %s", where, err, config.DefaultFrontUser)
	}
	if a.UID == 0 {
		return nil, nil
	}
	return &front.User{Name: a.Name, UID: a.UID, GID: a.GID}, nil
}
