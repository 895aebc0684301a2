// Package home lays out berth's state directory ("home"): the database, the
// control socket, the keeper's run directory, apps and their logs. One value
// of Layout describes one home; it holds no state and is safe to copy.
package home

import (
	"fmt"
	"os"
	"path/filepath"
)

// EnvVar names the environment variable that selects berth's home.
const EnvVar = "BERTH_HOME"

// SystemHome is the home of a daemon run as root.
const SystemHome = "/var/lib/berth"

// Default returns the home to use when --home is not given: $BERTH_HOME,
// else /var/lib/berth for root, else a per-user state directory.
func Default() string {
	if h := os.Getenv(EnvVar); h != "" {
		return h
	}
	if os.Geteuid() == 0 {
		return SystemHome
	}
	if x := os.Getenv("XDG_STATE_HOME"); x != "" {
		return filepath.Join(x, "berth")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "berth")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("berth-%d", os.Getuid()))
}

// Layout names every path under one home.
type Layout struct{ Root string }

// New returns the layout of the home at root, made absolute.
func New(root string) (Layout, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return Layout{}, fmt.Errorf("resolving home %q: %w", root, err)
	}
	return Layout{Root: abs}, nil
}

// DB is the state database, opened by the daemon only.
func (l Layout) DB() string { return filepath.Join(l.Root, "berth.db") }

// RunDir holds the sockets and pid files.
func (l Layout) RunDir() string { return filepath.Join(l.Root, "run") }

// Socket is the daemon's control socket.
func (l Layout) Socket() string { return filepath.Join(l.RunDir(), "berth.sock") }

// KeeperDir is the keeper's run directory (socket, pid, state).
func (l Layout) KeeperDir() string { return filepath.Join(l.RunDir(), "keeper") }

// DaemonLog is where a daemon started in the background writes.
func (l Layout) DaemonLog() string { return filepath.Join(l.Root, "logs", "berthd.log") }

// KeeperLog is where the keeper writes its own diagnostics.
func (l Layout) KeeperLog() string { return filepath.Join(l.Root, "logs", "keeper.log") }

// AppDir is an app's directory: releases/, shared/ and the current symlink.
func (l Layout) AppDir(app string) string { return filepath.Join(l.Root, "apps", app) }

// SharedDir survives releases; the agent may write there.
func (l Layout) SharedDir(app string) string { return filepath.Join(l.AppDir(app), "shared") }

// SecretsRoot holds every app's secrets (0700, the daemon's user only).
func (l Layout) SecretsRoot() string { return filepath.Join(l.Root, "secrets") }

// SecretsDir holds one app's secrets, a 0600 file per secret.
func (l Layout) SecretsDir(app string) string { return filepath.Join(l.SecretsRoot(), app) }

// LogDir holds an app's log files.
func (l Layout) LogDir(app string) string { return filepath.Join(l.Root, "logs", app) }

// LogFile is the log of one instance (color) of an app.
func (l Layout) LogFile(app, color string) string {
	return filepath.Join(l.LogDir(app), color+".log")
}

// Create makes the home's directories. The root and apps/ are traversable
// (0711) so agents running as their own users can reach their releases
// without being able to list other apps; run/ is listed by berth only and
// traversable (0751) so a front running as its own user reaches run/front;
// each socket in it keeps its own mode.
func (l Layout) Create() error {
	dirs := []struct {
		path string
		mode os.FileMode
	}{
		{l.Root, 0o711},
		{filepath.Join(l.Root, "apps"), 0o711},
		{filepath.Join(l.Root, "logs"), 0o750},
		{l.RunDir(), 0o751},
		{l.KeeperDir(), 0o700},
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d.path, d.mode); err != nil {
			return fmt.Errorf("creating %s: %w", d.path, err)
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			return fmt.Errorf("setting mode of %s: %w", d.path, err)
		}
	}
	return nil
}
