package cli

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/front"
)

// frontCmd is started by the daemon, never by hand: the process that owns
// the apps' listening sockets and proxies and outlives the daemon.
func (a *app) frontCmd() *cobra.Command {
	var runDir string
	var next bool
	c := &cobra.Command{
		Use:    "front",
		Short:  "Serve the apps' listeners and proxies (started by the daemon)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := front.NoNewPrivileges(); err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			return front.Serve(cmd.Context(), front.Config{RunDir: runDir, Version: a.env.Version,
				Build: BuildDetails(), Logger: log, Inherited: front.InheritedFromEnv(), Next: next})
		},
	}
	c.Flags().StringVar(&runDir, "run-dir", "", "the front's run directory")
	_ = c.MarkFlagRequired("run-dir")
	c.Flags().BoolVar(&next, "next", false, "replace the running front (berth upgrade): serve at once, answer on next.sock until promoted")
	return c
}
