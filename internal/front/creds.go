package front

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// User is an unprivileged account a root daemon runs the front as. The
// front then holds CAP_NET_BIND_SERVICE and no other capability.
type User struct {
	Name     string
	UID, GID uint32
}

// dropEnv tells a front started as a User to set no_new_privs on itself
// (exec.Cmd cannot): nothing it may run later (a daemon restart) gains
// privileges through setuid or file capabilities.
const dropEnv = "BERTH_FRONT_NO_NEW_PRIVS"

// procAttr returns the attributes a front is started with: its own
// session, and u's credentials with CAP_NET_BIND_SERVICE as the only
// ambient (hence permitted and effective) capability when u is not nil.
// Supplementary groups are dropped: root's would outlive the switch.
func procAttr(u *User) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setsid: true}
	if u != nil {
		a.Credential = &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: []uint32{}}
		a.AmbientCaps = []uintptr{unix.CAP_NET_BIND_SERVICE}
	}
	return a
}

// NoNewPrivileges is called by a front process first thing: started as
// a User (dropEnv set), it sets no_new_privs and executes itself again,
// so the attribute, which Linux keeps per thread, holds for every thread
// of the image that serves (execve leaves one thread, the caller's).
// The inherited sockets and the ambient capability survive the execve.
// Otherwise it returns nil at once; on success it does not return.
func NoNewPrivileges() error {
	if os.Getenv(dropEnv) == "" {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the front's binary: %w", err)
	}
	runtime.LockOSThread() // prctl and execve on one thread
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setting no_new_privs: %w", err)
	}
	err = syscall.Exec(exe, os.Args, withoutEnv(os.Environ(), dropEnv))
	runtime.UnlockOSThread()
	return fmt.Errorf("executing %s again with no_new_privs: %w", exe, err)
}

// Own makes cfg's run directory and its other directories (cfg.Owned)
// the front user's, creating them 0700, and every file and directory in
// them too (a previous front may have run as root or another user):
// nothing of the front's may be out of its reach. It does nothing when
// cfg.User is nil. The walk stays inside each directory (os.Root), so a
// symbolic link planted there cannot turn it on another file.
func Own(cfg EnsureConfig) error {
	if cfg.User == nil {
		return nil
	}
	for _, dir := range append([]string{cfg.RunDir}, cfg.Owned...) {
		if err := ownTree(dir, int(cfg.User.UID), int(cfg.User.GID)); err != nil {
			return fmt.Errorf("giving %s to the front's user %s: %w", dir, cfg.User.Name, err)
		}
	}
	return nil
}

func ownTree(dir string, uid, gid int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return fs.WalkDir(root.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // gone meanwhile (a lock file, a temp file)
			}
			return err
		}
		if st, ok := statOf(d); ok && int(st.Uid) == uid && int(st.Gid) == gid {
			return nil
		}
		if err := root.Lchown(path, uid, gid); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}

// statOf returns d's owner when the file system gives it.
func statOf(d fs.DirEntry) (*syscall.Stat_t, bool) {
	fi, err := d.Info()
	if err != nil {
		return nil, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return st, ok
}
