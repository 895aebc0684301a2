package cli

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/spec"
)

func (a *app) scaleCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "scale APP N",
		Short: "Run N instances of the live release (new ones join after readiness, removed ones are drained)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[1])
			if err != nil || n < 1 || n > spec.MaxInstances {
				return usage("scale %s %s: N must be a number from 1 to %d", args[0], args[1], spec.MaxInstances)
			}
			return a.withClient(func(cl *api.Client) error {
				apps, err := cl.Scale(cmd.Context(), args[0], n)
				if err != nil {
					return err
				}
				printStatus(a.env.Stdout, apps)
				return nil
			})
		},
	}
}
