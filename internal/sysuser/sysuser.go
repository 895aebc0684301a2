// Package sysuser resolves and creates the unix users agents run as.
// Its functions are safe for concurrent use.
package sysuser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
)

// Account is a resolved unix user.
type Account struct {
	Name     string
	UID, GID uint32
}

// ErrCannotSwitch is returned when the daemon is not root and the spec asks
// for another user.
var ErrCannotSwitch = errors.New("only a root daemon can run agents as another user")

// ForApp returns the account an app's agent runs as. want is the spec's
// run.user: "" means the dedicated user berth-<app> when berth runs as root
// (created when missing) and berth's own user otherwise; "root" must be
// spelled out to run as root.
func ForApp(ctx context.Context, app, want string) (Account, error) {
	self, err := Lookup(strconv.Itoa(os.Geteuid()))
	if err != nil {
		return Account{}, err
	}
	if os.Geteuid() != 0 {
		if want == "" || want == self.Name {
			return self, nil
		}
		return Account{}, fmt.Errorf("running %s as %q: %w (berth runs as %s)", app, want, ErrCannotSwitch, self.Name)
	}
	if want == "" {
		return Ensure(ctx, "berth-"+app)
	}
	return Lookup(want)
}

// ForAppLookup is ForApp without creating anything: the account an app's
// agent runs as, if it exists.
func ForAppLookup(app, want string) (Account, error) {
	switch {
	case os.Geteuid() != 0 || want != "":
		if want == "" {
			return Lookup(strconv.Itoa(os.Geteuid()))
		}
		return Lookup(want)
	default:
		return Lookup("berth-" + app)
	}
}

// Lookup resolves a user by name or numeric id.
func Lookup(name string) (Account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, nerr := strconv.Atoi(name); nerr == nil {
			u, err = user.LookupId(name)
		}
	}
	if err != nil {
		return Account{}, fmt.Errorf("looking up user %q: %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return Account{}, fmt.Errorf("parsing uid of %q: %w", name, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return Account{}, fmt.Errorf("parsing gid of %q: %w", name, err)
	}
	return Account{Name: u.Username, UID: uint32(uid), GID: uint32(gid)}, nil
}

// Ensure returns the system user name, creating it (no home, no login
// shell, its own group) when it does not exist. It needs root.
func Ensure(ctx context.Context, name string) (Account, error) {
	if a, err := Lookup(name); err == nil {
		return a, nil
	}
	cmd := exec.CommandContext(ctx, "useradd", "--system", "--user-group",
		"--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name)
	if out, err := cmd.CombinedOutput(); err != nil {
		// Another deploy may have created it meanwhile.
		if a, lerr := Lookup(name); lerr == nil {
			return a, nil
		}
		return Account{}, fmt.Errorf("creating system user %s: %v: %s", name, err, out)
	}
	return Lookup(name)
}

// Remove deletes a system user created by Ensure.
func Remove(ctx context.Context, name string) error {
	out, err := exec.CommandContext(ctx, "userdel", name).CombinedOutput()
	if err != nil {
		return fmt.Errorf("removing user %s: %v: %s", name, err, out)
	}
	return nil
}
