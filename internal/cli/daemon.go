package cli

import (
	"errors"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/internal/daemon"
	"github.com/berth-dev/berth/internal/keeper"
)

func (a *app) daemonCmd() *cobra.Command {
	var debug, supervised bool
	var adminAddr, configFile string
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
			dc := daemon.Config{Home: l, Exe: a.env.Exe, Version: a.env.Version, Build: BuildDetails(), Logger: log, ConfigFile: configFile}
			if !supervised {
				// The front restarts a daemon that dies: same binary, same flags.
				dc.Argv = append([]string{a.env.Exe}, a.env.Args...)
			}
			if cmd.Flags().Changed("admin") {
				dc.Admin = &adminAddr
			}
			err = daemon.Run(cmd.Context(), dc)
			var re *daemon.ReExec
			if errors.As(err, &re) {
				return re.Exec(a.env.Args) // returns only on failure
			}
			if errors.Is(err, config.ErrInvalid) {
				return &exitError{code: ExitUsage, err: err}
			}
			return err
		},
	}
	c.Flags().BoolVar(&debug, "debug", false, "log debug messages")
	c.Flags().BoolVar(&supervised, "supervised", false, "another supervisor restarts this daemon (systemd is detected by itself): berth's front does not")
	c.Flags().StringVar(&adminAddr, "admin", "", `where /metrics listens, over daemon.toml's [admin] listen ("" = nowhere)`)
	c.Flags().StringVar(&configFile, "config", "", "the daemon's config (default <home>/daemon.toml; absent = defaults)")
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
