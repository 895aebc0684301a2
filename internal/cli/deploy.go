package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/plan"
	"github.com/berth-dev/berth/internal/release"
)

func (a *app) deployCmd() *cobra.Command {
	var file string
	var attach bool
	c := &cobra.Command{
		Use:   "deploy [-f berth.toml] [RELEASE] | deploy --attach APP",
		Short: "Install a release (directory or .tar.gz; default: the spec's directory) and make it live",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if attach {
				if len(args) != 1 {
					return usage("--attach takes the app's name: berth deploy --attach APP")
				}
				return a.attach(cmd.Context(), args[0])
			}
			specFile, data, err := a.deploySpec(cmd, file, args)
			if err != nil {
				return err
			}
			app, choice, err := resolve(specFile, data, func(name string) plan.Timings {
				h, _ := a.measured(cmd.Context(), name)
				return h
			})
			if err != nil {
				return a.specError(err)
			}
			req := api.DeployRequest{SpecFile: specFile, Spec: data}
			if len(args) == 1 {
				if req.Source, err = filepath.Abs(args[0]); err != nil {
					return err
				}
			}
			ts, err := a.targets()
			if err != nil {
				return err
			}
			if len(ts) > 0 {
				return a.deployRemote(cmd.Context(), ts, app, req)
			}
			return a.withClient(func(cl *api.Client) error {
				printChoice(a.env.Stdout, choice)
				fmt.Fprintf(a.env.Stdout, "deploying %s with %s\n", app.Name, app.Deploy.Strategy)
				p := newPrinter(a.env.Stdout)
				d, err := cl.Deploy(cmd.Context(), req, p.seen)
				if ierr := a.interrupted(cmd.Context(), err, p.lines > 0, "deploy", app.Name); ierr != nil {
					return ierr
				}
				p.result(d, err)
				return err
			})
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "berth.toml", "the app spec")
	c.Flags().BoolVar(&attach, "attach", false, "follow the running deploy of APP (its steps so far, then to its end)")
	return c
}

// deploySpec reads the spec to deploy: -f when given, else the berth.toml
// inside a tarball release, else ./berth.toml.
func (a *app) deploySpec(cmd *cobra.Command, file string, args []string) (string, []byte, error) {
	if !cmd.Flags().Changed("file") && len(args) == 1 {
		if info, err := os.Stat(args[0]); err == nil && !info.IsDir() {
			archive, err := filepath.Abs(args[0])
			if err != nil {
				return "", nil, err
			}
			name, data, err := release.SpecInArchive(archive)
			if err != nil {
				return "", nil, usage("%v", err)
			}
			return archive + ":" + name, data, nil
		}
	}
	specFile, err := filepath.Abs(file)
	if err != nil {
		return "", nil, err
	}
	data, err := os.ReadFile(specFile)
	if err != nil {
		return "", nil, usage("reading spec: %v", err)
	}
	return specFile, data, nil
}

func (a *app) rollbackCmd() *cobra.Command {
	var to string
	c := &cobra.Command{
		Use:   "rollback APP [--to RELEASE]",
		Short: "Switch back to the previous release (instant when it is still warm)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(cl *api.Client) error {
				p := newPrinter(a.env.Stdout)
				d, err := cl.Rollback(cmd.Context(), args[0], to, p.seen)
				if ierr := a.interrupted(cmd.Context(), err, p.lines > 0, "rollback", args[0]); ierr != nil {
					return ierr
				}
				p.result(d, err)
				return err
			})
		},
	}
	c.Flags().StringVar(&to, "to", "", "release to go back to (default: the previous one)")
	return c
}

func (a *app) restartCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "restart APP",
		Short: "Restart an app (blue-green apps: on the idle color, without downtime)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(cl *api.Client) error {
				p := newPrinter(a.env.Stdout)
				d, err := cl.Restart(cmd.Context(), args[0], p.seen)
				if ierr := a.interrupted(cmd.Context(), err, p.lines > 0, "restart", args[0]); ierr != nil {
					return ierr
				}
				p.result(d, err)
				return err
			})
		},
	}
}
