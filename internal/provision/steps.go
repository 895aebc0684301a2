package provision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/berth-dev/berth/internal/systemd"
	"github.com/berth-dev/berth/internal/sysuser"
)

// dirSpec is a directory the app needs.
type dirSpec struct {
	path  string
	mode  fs.FileMode
	owner string // user name
	group string // group name; "" is the owner's primary group
}

// ids resolves the directory's owner and group.
func (d dirSpec) ids() (int, int, error) {
	uid, gid, err := lookupIDs(d.owner)
	if err != nil || d.group == "" {
		return uid, gid, err
	}
	g, err := user.LookupGroup(d.group)
	if err != nil {
		return 0, 0, err
	}
	gid, err = strconv.Atoi(g.Gid)
	if err != nil {
		return 0, 0, fmt.Errorf("gid of group %s: %w", d.group, err)
	}
	return uid, gid, nil
}

// primaryGroup names the primary group of user name; a user provision is
// about to create gets a group of its own name (useradd --user-group).
func primaryGroup(name string) string {
	u, err := user.Lookup(name)
	if err != nil {
		return name
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return name
	}
	return g.Name
}

// who says owner and group for a plan line.
func (d dirSpec) who() string {
	if d.group == "" || d.group == d.owner {
		return d.owner
	}
	return d.owner + ":" + d.group
}

// dirs lists the app's directories, parents first. The home's own modes
// match what the daemon's home.Create sets, so the two never undo each other.
func (p *Provisioner) dirs(app, owner string) []dirSpec {
	h := p.cfg.Home
	ap := systemd.AppPaths{Home: h, App: app}
	return []dirSpec{
		{h.Root, 0o711, "root", ""},
		{filepath.Join(h.Root, "apps"), 0o711, "root", ""},
		{filepath.Join(h.Root, "logs"), 0o750, "root", ""},
		// The control socket's directory: group berth may reach the
		// socket, the front's user its run/front (the modes and group a
		// root daemon sets).
		{h.RunDir(), 0o751, "root", sysuser.ControlGroup},
		// Releases may hold config: the app's group reads them, others
		// cannot (the modes release.Share sets at each deploy).
		{ap.Dir(), 0o750, "root", primaryGroup(owner)},
		{ap.Releases(), 0o750, "root", primaryGroup(owner)},
		{ap.Shared(), 0o750, owner, ""},
		{ap.Run(), 0o750, owner, ""},
		// Traversable, not listable: the agent reaches its release through
		// its color's link; the env files inside are 0600 root.
		{ap.Colors(), 0o711, "root", ""},
		{ap.Logs(), 0o750, "root", ""},
	}
}

// planGroup creates the system group name when the host has none.
func planGroup(name string) *Step {
	if _, err := sysuser.LookupGroup(name); err == nil {
		return nil
	}
	return &Step{
		Kind: KindGroup, Target: name, What: "create (system group: its members may use berth's control socket)",
		apply: func(ctx context.Context) error {
			_, err := sysuser.EnsureGroup(ctx, name)
			return err
		},
	}
}

func planUser(name string) *Step {
	if _, err := user.Lookup(name); err == nil {
		return nil
	}
	return &Step{
		Kind: KindUser, Target: name, What: "create (system user and group, no login shell, no home)",
		apply: func(ctx context.Context) error {
			if _, err := user.Lookup(name); err == nil {
				return nil
			}
			out, err := exec.CommandContext(ctx, "useradd", "--system", "--user-group", "--no-create-home",
				"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name).CombinedOutput()
			if err != nil {
				return fmt.Errorf("useradd %s: %w: %s", name, err, bytes.TrimSpace(out))
			}
			return nil
		},
	}
}

// lookupIDs resolves a user name to its uid and primary gid.
func lookupIDs(name string) (int, int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, err
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return 0, 0, fmt.Errorf("uid of %s: %w", name, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return 0, 0, fmt.Errorf("gid of %s: %w", name, err)
	}
	return uid, gid, nil
}

func planDir(d dirSpec) (*Step, error) {
	fi, err := os.Lstat(d.path)
	what := ""
	switch {
	case errors.Is(err, fs.ErrNotExist):
		what = fmt.Sprintf("create (%04o %s)", d.mode, d.who())
	case err != nil:
		return nil, fmt.Errorf("checking %s: %w", d.path, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("%s exists and is not a directory; move it away and run again", d.path)
	default:
		if fi.Mode().Perm() != d.mode {
			what = fmt.Sprintf("mode %04o → %04o", fi.Mode().Perm(), d.mode)
		}
		uid, gid, lerr := d.ids()
		st := fi.Sys().(*syscall.Stat_t)
		if lerr != nil || int(st.Uid) != uid || int(st.Gid) != gid {
			if what != "" {
				what += ", "
			}
			what += fmt.Sprintf("owner %d:%d → %s", st.Uid, st.Gid, d.who())
		}
	}
	if what == "" {
		return nil, nil
	}
	return &Step{Kind: KindDir, Target: d.path, What: what, apply: func(context.Context) error { return ensureDir(d) }}, nil
}

func ensureDir(d dirSpec) error {
	uid, gid, err := d.ids()
	if err != nil {
		return fmt.Errorf("owner of %s: %w", d.path, err)
	}
	if err := os.Mkdir(d.path, d.mode); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("creating %s: %w", d.path, err)
	}
	if err := os.Lchown(d.path, uid, gid); err != nil {
		return fmt.Errorf("setting owner of %s: %w", d.path, err)
	}
	// chmod after chown: chown may clear set-id bits, and mkdir obeys umask.
	if err := os.Chmod(d.path, d.mode); err != nil {
		return fmt.Errorf("setting mode of %s: %w", d.path, err)
	}
	return nil
}

// unitFile is a unit berth wants installed, rendered.
type unitFile struct {
	path string
	data []byte
}

func planUnit(u unitFile) (*Step, error) {
	old, err := os.ReadFile(u.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", u.path, err)
	case bytes.Equal(old, u.data):
		if fi, err := os.Stat(u.path); err == nil && fi.Mode().Perm() == 0o644 {
			return nil, nil
		}
	}
	what := "update"
	if old == nil {
		what = "create"
	}
	return &Step{
		Kind: KindUnit, Target: u.path, What: what, Diff: lineDiff(string(old), string(u.data)),
		apply: func(context.Context) error { return systemd.WriteFile(u.path, u.data, 0o644, 0, 0) },
	}, nil
}

// removeStep removes a file a previous run installed and this one does not.
func removeStep(kind, path, why string) *Step {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return &Step{Kind: kind, Target: path, What: "remove (" + why + ")", apply: func(context.Context) error {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", path, err)
		}
		return nil
	}}
}
