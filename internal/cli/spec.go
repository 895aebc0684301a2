package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/spec"
)

func (a *app) initCmd() *cobra.Command {
	var name string
	var force bool
	c := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a commented berth.toml for a new agent",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			if name == "" {
				name = spec.CleanName(filepath.Base(abs))
			}
			if err := os.MkdirAll(abs, 0o755); err != nil {
				return err
			}
			path := filepath.Join(abs, "berth.toml")
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			f, err := os.OpenFile(path, flags, 0o644)
			if errors.Is(err, os.ErrExist) {
				return usage("%s exists; use --force to overwrite it", path)
			}
			if err != nil {
				return err
			}
			if _, err := f.Write(spec.Init(name)); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stdout, "wrote %s for app %q\nnext: edit [run] command, then: berth validate -f %s && berth deploy -f %s\n", path, name, path, path)
			return nil
		},
	}
	c.Flags().StringVar(&name, "name", "", "app name (default: the directory's name)")
	c.Flags().BoolVar(&force, "force", false, "overwrite an existing berth.toml")
	return c
}

func (a *app) validateCmd() *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "validate [-f berth.toml]",
		Short: "Check a spec; print every problem with file:line:col",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := os.ReadFile(file)
			if err != nil {
				return usage("reading spec: %v", err)
			}
			app, p, err := resolve(file, data, nil)
			if err != nil {
				return a.specError(err)
			}
			for _, w := range app.Warnings {
				fmt.Fprintln(a.env.Stderr, "warning: "+w.String())
			}
			printChoice(a.env.Stdout, p)
			fmt.Fprintf(a.env.Stdout, "%s: ok (app %q, strategy %s, %d checks)\n", file, app.Name, app.Deploy.Strategy, len(app.Checks))
			return nil
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "berth.toml", "the app spec")
	return c
}

// specError prints every problem of an invalid spec, one per line.
func (a *app) specError(err error) error {
	var se *spec.Errors
	if !errors.As(err, &se) {
		return &exitError{code: ExitUsage, err: err}
	}
	for _, p := range se.Problems {
		fmt.Fprintln(a.env.Stderr, p.String())
	}
	fmt.Fprintf(a.env.Stderr, "%d problem(s); nothing was deployed\n", len(se.Problems))
	return &exitError{code: ExitUsage, err: errSilent}
}
