package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"

	"github.com/berth-dev/berth/internal/state"
)

func (a *app) eventsCmd() *cobra.Command {
	var follow, asJSON bool
	var n int
	c := &cobra.Command{
		Use:   "events [APP] [-f] [--json]",
		Short: "The event journal: deploy steps, restarts, rollbacks, operator actions",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(cl *api.Client) error {
				app := ""
				if len(args) == 1 {
					app = args[0]
				}
				evs, err := cl.Events(cmd.Context(), app, 0, n)
				for {
					if err != nil {
						return err
					}
					var last uint64
					for _, e := range evs {
						a.printEvent(e, asJSON)
						last = e.Seq
					}
					if !follow {
						return nil
					}
					select {
					case <-cmd.Context().Done():
						return nil
					case <-time.After(500 * time.Millisecond):
					}
					if last == 0 && len(evs) == 0 {
						evs, err = cl.Events(cmd.Context(), app, 0, 1)
						continue
					}
					evs, err = cl.Events(cmd.Context(), app, last, 0)
				}
			})
		},
	}
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events")
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line")
	c.Flags().IntVarP(&n, "lines", "n", 50, "last N events")
	return c
}

func (a *app) printEvent(e state.Event, asJSON bool) {
	if asJSON {
		_ = writeJSONLine(a.env.Stdout, e)
		return
	}
	fmt.Fprintf(a.env.Stdout, "%s %-12s %-22s %s\n", e.Time.Local().Format("2006-01-02 15:04:05.000"), e.App, e.Kind, e.Message)
}
