package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/provision"
	"github.com/berth-dev/berth/internal/spec"
)

// plainUnitExposure is what systemd-analyze security gives a unit with only
// ExecStart= (measured on systemd 252), printed next to berth's for scale.
const plainUnitExposure = "9.6 UNSAFE"

func (a *app) provisionCmd() *cobra.Command {
	var (
		file      string
		dryRun    bool
		noStart   bool
		checkDisk time.Duration
		checkApp  time.Duration
	)
	c := &cobra.Command{
		Use:   "provision [-f berth.toml] [--dry-run]",
		Short: "Prepare this host for the app: user, directories, secrets, systemd units, the daemon (idempotent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := spec.Load(file)
			if err != nil {
				return err
			}
			p, err := a.provisioner(checkDisk, checkApp)
			if err != nil {
				return err
			}
			start := time.Now()
			plan, err := p.Plan(cmd.Context(), app)
			if err != nil {
				return err
			}
			w := a.env.Stdout
			if dryRun {
				printPlan(w, plan)
				return nil
			}
			if err := applyPlan(cmd.Context(), w, p, plan); err != nil {
				return err
			}
			if provision.ManagesUnits(app) {
				printScore(cmd.Context(), w, p, app.Name)
			}
			fmt.Fprintf(w, "%d changes in %s\n", len(plan.Steps), time.Since(start).Round(time.Millisecond))
			if noStart {
				return nil
			}
			return a.startProvisioned(cmd.Context(), w, app)
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "berth.toml", "the app spec")
	c.Flags().BoolVar(&noStart, "no-start", false, "prepare the host only; do not deploy the app and verify its health")
	c.Flags().BoolVar(&dryRun, "dry-run", false, "print what would change, as a diff, and change nothing")
	c.Flags().DurationVar(&checkDisk, "check-disk-every", 0, "install a systemd timer running `berth check disk` this often (e.g. 15m); 0 = none")
	c.Flags().DurationVar(&checkApp, "check-app-every", 0, "install a systemd timer running `berth check app APP` (its functional checks) this often; 0 = none")
	return c
}

// startProvisioned finishes the one pass: an app that is not live yet is
// deployed from the spec's directory (which starts it and verifies its
// health, or fails and says why); a live one has its health checked. A
// second run over a healthy app changes nothing.
func (a *app) startProvisioned(ctx context.Context, w io.Writer, app *spec.App) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := cl.WaitReady(wctx); err != nil {
		return err
	}
	if apps, err := cl.Status(ctx, app.Name); err == nil && len(apps) == 1 && apps[0].Live != "" && !apps[0].Stopped {
		for _, in := range apps[0].Instances {
			if in.Live {
				if in.State != "running" || (in.Health != "ok" && in.Health != "no checks") {
					return fmt.Errorf("%s is live on %s but %s, health %s: see berth why %s", app.Name, in.Color, in.State, in.Health, app.Name)
				}
				fmt.Fprintf(w, "%s: live on %s (release %s), health %s: nothing to start\n", app.Name, in.Color, in.Release, in.Health)
			}
		}
		return nil
	}
	data, err := os.ReadFile(app.File)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "starting %s: deploying %s and verifying its health\n", app.Name, app.Dir)
	p := newPrinter(w)
	d, err := cl.Deploy(ctx, api.DeployRequest{SpecFile: app.File, Spec: data}, p.progress)
	p.result(d, err)
	return err
}

func (a *app) unprovisionCmd() *cobra.Command {
	var dryRun, purge bool
	c := &cobra.Command{
		Use:   "unprovision APP",
		Short: "Remove what provision created for APP (keeps releases, data, logs and the user unless --purge)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := a.provisioner(0, 0)
			if err != nil {
				return err
			}
			plan, err := p.Unplan(cmd.Context(), args[0], purge)
			if err != nil {
				return err
			}
			if dryRun {
				if purge {
					fmt.Fprintf(a.env.Stdout, "first: berth rm %s (its instances stopped, its listener closed, out of status)\n", args[0])
				}
				printPlan(a.env.Stdout, plan)
				return nil
			}
			start := time.Now()
			if purge {
				// Its files and its user go: nothing of it may keep running,
				// and the daemon must stop counting it as an app.
				if err := a.removeFromDaemon(cmd.Context(), args[0]); err != nil {
					return err
				}
			}
			if err := applyPlan(cmd.Context(), a.env.Stdout, p, plan); err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stdout, "%d changes in %s\n", len(plan.Steps), time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	c.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be removed and remove nothing")
	c.Flags().BoolVar(&purge, "purge", false, "also remove the app's releases, shared data, logs and its berth-<app> user")
	return c
}

// removeFromDaemon is `berth rm APP` before a purge. Without a daemon the
// purge goes on: its user step still refuses while a process runs as it.
func (a *app) removeFromDaemon(ctx context.Context, app string) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	var ae *api.Error
	switch err := cl.Remove(ctx, app, false); {
	case err == nil:
		fmt.Fprintf(a.env.Stdout, "removed %s from the daemon: instances stopped, listener closed\n", app)
	case errors.Is(err, api.ErrNoDaemon):
		fmt.Fprintf(a.env.Stdout, "no daemon answers: nothing to stop there\n")
	case errors.As(err, &ae) && ae.Code == api.CodeNotFound:
	default:
		return fmt.Errorf("removing %s from the daemon first: %w", app, err)
	}
	return nil
}

// provisioner builds a Provisioner for this host, as root only.
func (a *app) provisioner(checkDisk, checkApp time.Duration) (*provision.Provisioner, error) {
	if os.Geteuid() != 0 {
		return nil, &exitError{code: ExitError, err: provision.ErrNotRoot}
	}
	if checkDisk != 0 && checkDisk < time.Minute {
		return nil, usage("--check-disk-every %v is under a minute", checkDisk)
	}
	if checkApp != 0 && checkApp < time.Minute {
		return nil, usage("--check-app-every %v is under a minute", checkApp)
	}
	l, err := a.layout()
	if err != nil {
		return nil, err
	}
	exe, err := filepath.Abs(a.env.Exe)
	if err != nil {
		return nil, fmt.Errorf("resolving berth's binary: %w", err)
	}
	return provision.New(provision.Config{Home: l, Exe: exe, CheckDiskEvery: checkDisk, CheckAppEvery: checkApp}), nil
}

func printPlan(w io.Writer, plan *provision.Plan) {
	fmt.Fprintf(w, "plan for %s (dry run, nothing changed): %d changes\n", plan.App, len(plan.Steps))
	for _, s := range plan.Steps {
		fmt.Fprintf(w, "  %s\n", s)
		if s.Diff != "" {
			fmt.Fprintf(w, "      %s\n", strings.ReplaceAll(s.Diff, "\n", "\n      "))
		}
	}
}

func applyPlan(ctx context.Context, w io.Writer, p *provision.Provisioner, plan *provision.Plan) error {
	if len(plan.Steps) == 0 {
		fmt.Fprintf(w, "%s: host already provisioned\n", plan.App)
	}
	return p.Apply(ctx, plan, func(r provision.Result) {
		status := "done"
		if r.Err != nil {
			status = "FAILED"
		}
		fmt.Fprintf(w, "[%d/%d] %s ... %s (%s)\n", r.Index, r.N, r.Step, status, r.Took.Round(100*time.Microsecond))
	})
}

func printScore(ctx context.Context, w io.Writer, p *provision.Provisioner, app string) {
	s, err := p.Score(ctx, app)
	if err != nil {
		fmt.Fprintf(w, "security: not measured (%v)\n", err)
		return
	}
	fmt.Fprintf(w, "security: systemd-analyze security %s: exposure %.1f %s (a unit with only ExecStart=: %s)\n",
		s.Unit, s.Exposure, s.Verdict, plainUnitExposure)
}
