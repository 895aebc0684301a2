package cli

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"

	"github.com/berth-dev/berth/internal/logs"
)

func (a *app) logsCmd() *cobra.Command {
	var follow bool
	var n int
	var since, stream, color string
	c := &cobra.Command{
		Use:   "logs APP [-f] [-n N] [--since 10m] [--stream out|err]",
		Short: "The agent's output, across rotated and compressed files",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(cl *api.Client) error {
				q := url.Values{"n": {strconv.Itoa(n)}, "since": {since}, "stream": {stream}, "color": {color}}
				if follow {
					q.Set("follow", "1")
				}
				return cl.Logs(cmd.Context(), args[0], q, func(l logs.Line) error {
					if l.Time.IsZero() { // journald's lines carry their own time
						_, err := fmt.Fprintln(a.env.Stdout, l.Text)
						return err
					}
					if l.Color != "" {
						_, err := fmt.Fprintf(a.env.Stdout, "%s %s %s %s\n", l.Time.Local().Format("15:04:05.000"), l.Color, l.Stream, l.Text)
						return err
					}
					_, err := fmt.Fprintf(a.env.Stdout, "%s %s %s\n", l.Time.Local().Format("15:04:05.000"), l.Stream, l.Text)
					return err
				})
			})
		},
	}
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines")
	c.Flags().IntVarP(&n, "lines", "n", 100, "last N lines (0 = all)")
	c.Flags().StringVar(&since, "since", "", "only lines newer than this (e.g. 10m)")
	c.Flags().StringVar(&stream, "stream", "", "only out or err")
	c.Flags().StringVar(&color, "color", "", "instance to read (default: the live one)")
	return c
}
