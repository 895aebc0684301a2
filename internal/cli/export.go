package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/export"
	"github.com/berth-dev/berth/internal/plan"
)

func (a *app) exportCmd() *cobra.Command {
	var file string
	var o export.Options
	c := &cobra.Command{
		Use:       "export swarm|compose|kubernetes [-f berth.toml] [--image IMAGE] [--publish host|ingress|none]",
		Short:     "Print the app as a Swarm stack, a Compose file or Kubernetes objects; what they cannot carry goes to stderr",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{export.TargetSwarm, export.TargetCompose, export.TargetKubernetes},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[0] {
			case export.TargetSwarm, export.TargetCompose, export.TargetKubernetes:
			default:
				return usage("export %q: give swarm, compose or kubernetes", args[0])
			}
			switch o.Publish {
			case export.PublishHost, export.PublishIngress, export.PublishNone:
			default:
				return usage("--publish %q: give host, ingress or none", o.Publish)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return usage("reading spec: %v", err)
			}
			app, p, err := resolve(file, data, nil)
			if err != nil {
				return a.specError(err)
			}
			res, err := export.Export(args[0], app, o)
			if errors.Is(err, export.ErrNoImage) {
				return usage("%v", err)
			}
			if err != nil {
				return err
			}
			if _, err := a.env.Stdout.Write(res.Manifest); err != nil {
				return fmt.Errorf("writing the manifest: %w", err)
			}
			for _, w := range app.Warnings {
				fmt.Fprintln(a.env.Stderr, "warning: "+w.String())
			}
			if p != nil {
				fmt.Fprintf(a.env.Stderr, "note: deploy.strategy: auto: the planner chose %s%s: %s\n", p.Strategy, plan.FormatSettings(p.Settings), p.Reason)
			}
			for _, n := range res.Notes {
				fmt.Fprintln(a.env.Stderr, n.String())
			}
			return nil
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "berth.toml", "the app spec")
	c.Flags().StringVar(&o.Image, "image", "", "the image to run (default: the spec's run.image)")
	c.Flags().StringVar(&o.Publish, "publish", export.PublishHost, "swarm: how the service's port is published: host, ingress or none (endpoint_mode dnsrr)")
	return c
}
