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
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/systemd"
)

// Unplan returns the steps that undo provisioning of app: its instances
// stopped, its unit, color links and secrets file removed, systemd
// reloaded. With purge, its releases, shared data, logs and its berth-<app>
// user go too. berth's own daemon unit stays: other apps use it.
func (p *Provisioner) Unplan(ctx context.Context, app string, purge bool) (*Plan, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sc := p.cfg.Systemctl
	ap := systemd.AppPaths{Home: p.cfg.Home, App: app}
	plan := &Plan{App: app}
	unitPath := filepath.Join(p.cfg.UnitDir, systemd.TemplateName(app))
	_, unitErr := os.Stat(unitPath)
	if unitErr == nil {
		pattern := "berth-" + app + "@*.service"
		plan.Steps = append(plan.Steps, Step{Kind: KindSystemd, Target: pattern, What: "stop",
			apply: func(ctx context.Context) error {
				if err := sc.Stop(ctx, pattern); err != nil {
					return err
				}
				return sc.ResetFailed(ctx, pattern)
			}})
	}
	sockPath := filepath.Join(p.cfg.UnitDir, systemd.ProxySocketName(app))
	_, sockErr := os.Stat(sockPath)
	if sockErr == nil {
		// The daemon keeps its copy of the socket until it drops the proxy.
		name := systemd.ProxySocketName(app)
		plan.Steps = append(plan.Steps, Step{Kind: KindSystemd, Target: name, What: "disable --now",
			apply: func(ctx context.Context) error { return sc.Disable(ctx, name) }})
	}
	checkSvc, checkTimer := systemd.CheckTimer{App: app}.Names()
	checkPath := filepath.Join(p.cfg.UnitDir, checkTimer)
	_, checkErr := os.Stat(checkPath)
	if checkErr == nil {
		plan.Steps = append(plan.Steps, Step{Kind: KindSystemd, Target: checkTimer, What: "disable --now",
			apply: func(ctx context.Context) error { return sc.Disable(ctx, checkTimer) }})
	}
	plan.add(removeStep(KindUnit, unitPath, "unprovision"))
	plan.add(removeStep(KindUnit, sockPath, "unprovision"))
	plan.add(removeStep(KindUnit, checkPath, "unprovision"))
	plan.add(removeStep(KindUnit, filepath.Join(p.cfg.UnitDir, checkSvc), "unprovision"))
	plan.add(removeStep(KindFile, ap.EnvFile(), "secrets"))
	plan.add(removeTree(ap.Colors(), "color links and environment files"))
	if unitErr == nil || sockErr == nil || checkErr == nil {
		plan.Steps = append(plan.Steps, Step{Kind: KindSystemd, Target: "daemon-reload", What: "forget the unit", apply: sc.DaemonReload})
	}
	if purge {
		plan.add(removeTree(ap.Dir(), "--purge: releases and shared data"))
		plan.add(removeTree(ap.Logs(), "--purge: logs"))
		if u, err := user.Lookup("berth-" + app); err == nil {
			name := "berth-" + app
			plan.Steps = append(plan.Steps, Step{Kind: KindUser, Target: name, What: "remove (--purge)",
				apply: func(ctx context.Context) error {
					if err := waitNoProcesses(ctx, u.Uid, userGone); err != nil {
						return fmt.Errorf("removing user %s: %w (stop the app first: berth rm %s)", name, err, app)
					}
					out, err := exec.CommandContext(ctx, "userdel", name).CombinedOutput()
					if err != nil {
						return fmt.Errorf("userdel %s: %w: %s", name, err, bytes.TrimSpace(out))
					}
					return nil
				}})
		}
	}
	return plan, nil
}

func removeTree(path, why string) *Step {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return &Step{Kind: KindDir, Target: path, What: "remove (" + why + ")", apply: func(context.Context) error {
		if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("removing %s: %w", path, err)
		}
		return nil
	}}
}

// userGone is how long the user step waits for the app's last processes
// to exit before it refuses to delete their user.
const userGone = 5 * time.Second

// waitNoProcesses waits up to limit until no process runs as uid: a user
// deleted under a live process leaves it running with an unnamed uid that
// the next user created may get.
func waitNoProcesses(ctx context.Context, uid string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		pids := processesOf(uid)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still run as uid %s", pids, uid)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// processesOf lists the pids whose real or effective uid is uid, zombies
// excepted (they are gone, only not yet reaped).
func processesOf(uid string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*/status")
	var out []int
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // it ended meanwhile
		}
		var uids []string
		zombie := false
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Uid:"); ok {
				uids = strings.Fields(v)
			}
			if v, ok := strings.CutPrefix(l, "State:"); ok {
				zombie = strings.HasPrefix(strings.TrimSpace(v), "Z")
			}
		}
		if zombie || len(uids) < 2 || (uids[0] != uid && uids[1] != uid) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil {
			out = append(out, pid)
		}
	}
	return out
}
