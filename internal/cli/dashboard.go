package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"
)

func (a *app) dashboardCmd() *cobra.Command {
	var urlOnly bool
	c := &cobra.Command{
		Use:   "dashboard",
		Short: "Open the web dashboard (a one-time login URL; --url prints it)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(cl *api.Client) error {
				l, err := cl.DashboardLogin(cmd.Context())
				if err != nil {
					return err
				}
				until := "valid once, until " + l.Expires.Local().Format(time.TimeOnly)
				if urlOnly || !openBrowser(cmd.Context(), l.URL) {
					fmt.Fprintln(a.env.Stdout, l.URL)
					fmt.Fprintln(a.env.Stderr, "berth: open this URL in a browser on the server's host ("+until+")")
					return nil
				}
				fmt.Fprintln(a.env.Stderr, "berth: opened the dashboard in the browser ("+until+")")
				return nil
			})
		},
	}
	c.Flags().BoolVar(&urlOnly, "url", false, "print the login URL instead of opening a browser")
	return c
}

// openBrowser opens url with xdg-open where a graphical session exists; it
// reports false when there is none or xdg-open fails.
func openBrowser(ctx context.Context, url string) bool {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return false
	}
	bin, err := exec.LookPath("xdg-open")
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, bin, url).Run() == nil
}
