package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/systemd"
)

// setupHere starts this home's daemon unless one answers: as a systemd
// unit where systemd runs and we are root, else detached in the
// background (the embedded supervisor), logging to the home's berthd.log.
func (a *app) setupHere(ctx context.Context) error {
	l, err := a.layout()
	if err != nil {
		return err
	}
	cl := api.NewClient(l.Socket())
	defer cl.Close()
	if v, err := cl.Version(ctx); err == nil {
		fmt.Fprintf(a.env.Stdout, "a daemon already runs: version %s, pid %d, home %s\n", v.Version, v.PID, v.Home)
		return nil
	}
	if systemdRuns() && os.Geteuid() == 0 {
		err = a.startUnit(ctx, l.Root)
	} else {
		err = a.startDetached(l.Root, l.DaemonLog())
	}
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := cl.WaitReady(wctx); err != nil {
		return fmt.Errorf("the daemon started but does not answer (see %s): %w", l.DaemonLog(), err)
	}
	v, err := cl.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.env.Stdout, "daemon %s started: pid %d, home %s\n", v.Version, v.PID, v.Home)
	return nil
}

// systemdRuns is sd_booted(): systemd is PID 1.
func systemdRuns() bool {
	info, err := os.Stat("/run/systemd/system")
	return err == nil && info.IsDir()
}

// startUnit installs berth.service for this binary and home and starts it.
func (a *app) startUnit(ctx context.Context, home string) error {
	u, err := systemd.Daemon{Exe: a.env.Exe, Home: home}.Unit()
	if err != nil {
		return err
	}
	p := filepath.Join(systemd.UnitDir, systemd.DaemonUnit)
	if err := os.WriteFile(p+".tmp", u.Render(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	var sc systemd.Systemctl
	if err := sc.DaemonReload(ctx); err != nil {
		return err
	}
	if err := sc.EnableNow(ctx, systemd.DaemonUnit); err != nil {
		return err
	}
	fmt.Fprintf(a.env.Stdout, "installed and started %s (systemd)\n", p)
	return nil
}

// startDetached starts `berth daemon` in a session of its own, so it
// outlives the ssh session that started it.
func (a *app) startDetached(home, logFile string) error {
	if err := os.MkdirAll(filepath.Dir(logFile), 0o750); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(logFile), err)
	}
	logf, err := os.OpenFile(logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("opening daemon log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(a.env.Exe, "daemon", "--home", home)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the daemon: %w", err)
	}
	fmt.Fprintf(a.env.Stdout, "started the daemon in the background (no systemd here), log %s\n", logFile)
	return cmd.Process.Release()
}
