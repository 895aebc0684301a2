package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"
)

func (a *app) historyCmd() *cobra.Command {
	var asJSON bool
	var limit int
	c := &cobra.Command{
		Use:   "history APP [--json]",
		Short: "Deployments with every step, its timing and outcome, and who ran it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(cl *api.Client) error {
				ds, err := cl.History(cmd.Context(), args[0], limit)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.env.Stdout, ds)
				}
				w := a.env.Stdout
				if len(ds) == 0 {
					fmt.Fprintf(w, "no deployments of %s\n", args[0])
				}
				for _, d := range ds {
					took := d.EndedAt.Sub(d.StartedAt)
					if d.EndedAt.IsZero() {
						took = time.Since(d.StartedAt)
					}
					fmt.Fprintf(w, "#%s %s %s %s by %s at %s (%s): %s", d.ID, d.Kind, d.Release, d.Strategy, d.User,
						d.StartedAt.Local().Format("2006-01-02 15:04:05"), round(took), d.Outcome)
					if d.Reason != "" {
						fmt.Fprintf(w, ": %s", d.Reason)
					}
					fmt.Fprintln(w)
					if d.Drained+d.Cut > 0 || d.SwitchTook > 0 {
						fmt.Fprintf(w, "    switch %s, %d connections drained, %d cut\n", d.SwitchTook, d.Drained, d.Cut)
					}
					for k, v := range d.Numbers {
						fmt.Fprintf(w, "    %s = %g\n", k, v)
					}
					for _, s := range d.Steps {
						fmt.Fprintf(w, "    %-22s %-11s %8s  %s\n", s.Name, s.Outcome, round(s.Took), s.Detail)
					}
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().IntVarP(&limit, "limit", "n", 10, "how many deployments (0 = all)")
	return c
}
