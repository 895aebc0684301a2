package cli

import (
	"encoding/json"
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"
)

func (a *app) controlCmd(action, short string, mode *string) *cobra.Command {
	return &cobra.Command{
		Use:   action + " APP",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(cl *api.Client) error {
				m := ""
				if mode != nil {
					m = *mode
				}
				apps, err := cl.Control(cmd.Context(), args[0], action, m)
				if err != nil {
					return err
				}
				printStatus(a.env.Stdout, apps)
				return nil
			})
		},
	}
}

func (a *app) startCmd() *cobra.Command {
	return a.controlCmd("start", "Start a stopped app's live release and verify it", nil)
}

func (a *app) stopCmd() *cobra.Command {
	return a.controlCmd("stop", "Stop every instance gracefully (the proxy answers 503 meanwhile)", nil)
}

func (a *app) pauseCmd() *cobra.Command {
	mode := "hold"
	var refuse bool
	c := a.controlCmd("pause", "Maintenance: hold new requests (or --refuse them with 503)", &mode)
	c.Flags().BoolVar(&refuse, "refuse", false, "answer 503 with Retry-After instead of holding requests")
	c.PreRun = func(*cobra.Command, []string) {
		if refuse {
			mode = "refuse"
		}
	}
	return c
}

func (a *app) resumeCmd() *cobra.Command {
	return a.controlCmd("resume", "End maintenance: let requests through again", nil)
}

func writeJSONLine(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }
