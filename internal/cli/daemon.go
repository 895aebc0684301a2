package cli

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/daemon"
	"github.com/berth-dev/berth/internal/keeper"
)

func (a *app) daemonCmd() *cobra.Command {
	var debug bool
	c := &cobra.Command{
		Use:   "daemon",
		Short: "Run the daemon in the foreground (what a systemd unit or a terminal starts)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := a.layout()
			if err != nil {
				return err
			}
			level := slog.LevelInfo
			if debug {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(a.env.Stderr, &slog.HandlerOptions{Level: level}))
			return daemon.Run(cmd.Context(), daemon.Config{Home: l, Exe: a.env.Exe, Version: a.env.Version, Logger: log})
		},
	}
	c.Flags().BoolVar(&debug, "debug", false, "log debug messages")
	return c
}

// keeperCmd is started by the daemon, never by hand: the process that owns
// the agents and outlives daemon restarts.
func (a *app) keeperCmd() *cobra.Command {
	var runDir string
	c := &cobra.Command{
		Use:    "keeper",
		Short:  "Own the agents' processes and pipes (started by the daemon)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			return keeper.Serve(cmd.Context(), keeper.Config{RunDir: runDir, Logger: log})
		},
	}
	c.Flags().StringVar(&runDir, "run-dir", "", "the keeper's run directory")
	_ = c.MarkFlagRequired("run-dir")
	return c
}
