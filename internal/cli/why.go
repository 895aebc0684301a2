package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"

	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/spec"
)

func (a *app) whyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "why APP",
		Short: "Explain the app's current state in a few lines",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(cl *api.Client) error {
				lines, err := cl.Why(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				fmt.Fprintln(a.env.Stdout, strings.Join(lines, "\n"))
				return nil
			})
		},
	}
}

// logrotateCmd prints a logrotate stanza for files an agent writes itself,
// which berth does not own (berth rotates the output it captures itself).
func (a *app) logrotateCmd() *cobra.Command {
	var file, user string
	var copytruncate bool
	c := &cobra.Command{
		Use:   "logrotate-config APP [PATH...]",
		Short: "Print a logrotate stanza for log files the agent writes itself (default: shared/*.log)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, paths := args[0], args[1:]
			l, err := a.layout()
			if err != nil {
				return err
			}
			if len(paths) == 0 {
				paths = []string{filepath.Join(l.SharedDir(name), "*.log")}
			}
			lg := spec.Logs{MaxSize: spec.DefaultLogMaxSize, Keep: spec.DefaultLogKeep, Compress: true}
			if file != "" {
				app, err := spec.Load(file)
				if err != nil {
					return a.specError(err)
				}
				lg = app.Logs
				if user == "" {
					user = app.Run.User
				}
			}
			if user == "" {
				user = "berth-" + name
			}
			opt := logs.Options{MaxSize: int64(lg.MaxSize), MaxAge: lg.MaxAge.Duration, Keep: lg.Keep, Compress: lg.Compress}
			fmt.Fprint(a.env.Stdout, logs.LogrotateStanza(paths, opt, user, copytruncate))
			if copytruncate {
				fmt.Fprintln(a.env.Stderr, "berth: copytruncate loses the lines written between the copy and the truncate; prefer reopening the file on a signal")
			}
			return nil
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "take rotation settings and user from this app spec")
	c.Flags().StringVar(&user, "user", "", "owner of the files (default: the app's user)")
	c.Flags().BoolVar(&copytruncate, "copytruncate", false, "for programs that never reopen their file (loses lines)")
	return c
}
