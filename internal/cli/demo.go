package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/demo"
)

func (a *app) demoCmd() *cobra.Command {
	var keep bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "Walk through real zero-downtime deploys in a temporary home (under a minute, leaves nothing running)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := newPrinter(a.env.Stdout)
			sum, err := demo.Run(cmd.Context(), demo.Config{Exe: a.env.Exe, Out: a.env.Stdout, Progress: p.progress, Keep: keep})
			if err != nil {
				return err
			}
			sum.Print(a.env.Stdout)
			if keep {
				fmt.Fprintf(a.env.Stdout, "home kept at %s\n", sum.Home)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&keep, "keep", false, "keep the temporary home (logs, state) for inspection")
	return c
}
