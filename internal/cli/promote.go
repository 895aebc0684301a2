package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"
)

func (a *app) promoteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "promote APP",
		Short: "End the running canary's current step of APP now (a manual step, or a held one): on to the next step",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app := args[0]
			return a.withClient(func(cl *api.Client) error {
				ans, err := cl.Promote(cmd.Context(), app)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.env.Stdout, "promoted step %d of deployment %s of %s; berth deploy --attach %s follows it\n", ans.Step, ans.Deployment, app, app)
				return nil
			})
		},
	}
}
