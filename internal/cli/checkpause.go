package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"
)

// checkPauseCmd is `berth check pause APP` (on) or `berth check resume APP`:
// the daemon's monitor stops or starts again the app's checks and what they
// do (restarts, fail-overs, alerts), as the dashboard's button does.
func (a *app) checkPauseCmd(on bool) *cobra.Command {
	use, short := "resume APP", "Run the app's checks again after berth check pause"
	if on {
		use, short = "pause APP", "Stop the daemon's checks of the app (and their restarts and alerts) until resumed or the daemon restarts"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(cl *api.Client) error {
				ans, err := cl.PauseChecks(cmd.Context(), args[0], on)
				if err != nil {
					return err
				}
				if ans.Paused {
					fmt.Fprintf(a.env.Stdout, "checks of %s paused: nothing restarts or fails it over until `berth check resume %s`\n", ans.App, ans.App)
				} else {
					fmt.Fprintf(a.env.Stdout, "checks of %s resumed\n", ans.App)
				}
				return nil
			})
		},
	}
}
