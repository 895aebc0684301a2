package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"
)

func (a *app) rmCmd() *cobra.Command {
	var purge bool
	c := &cobra.Command{
		Use:   "rm APP [--purge]",
		Short: "Remove an app: stop its instances, close its listener, drop it from the app list (history kept; files kept unless --purge)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(cl *api.Client) error {
				if err := cl.Remove(cmd.Context(), args[0], purge); err != nil {
					return err
				}
				kept := "; its releases, shared data, logs and secrets are kept (berth rm --purge deletes them)"
				if purge {
					kept = " with its releases, shared data, logs and secrets"
				}
				fmt.Fprintf(a.env.Stdout, "removed %s%s; berth history %s still shows its deployments\n", args[0], kept, args[0])
				return nil
			})
		},
	}
	c.Flags().BoolVar(&purge, "purge", false, "also delete the app's releases, shared data, logs and secrets")
	return c
}
