package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"
)

// upgradeSettle bounds how long berth upgrade waits for the re-executed
// daemon to answer with the new version.
const upgradeSettle = 20 * time.Second

func (a *app) upgradeCmd() *cobra.Command {
	var budget time.Duration
	c := &cobra.Command{
		Use:   "upgrade NEW-BINARY",
		Short: "Replace the running daemon and front with NEW-BINARY under load, dropping no connection",
		Long: `Replace the running daemon and front with NEW-BINARY: the binary is copied into
<home>/bin, checked (it must answer "version" within 10 s), a new front started from it
takes over the listening sockets and must answer within 10 s, the old front stops
accepting and drains its requests and streams for at most --budget, and the daemon
re-executes itself from the copy. A binary that fails a check is abandoned: the old
processes serve on, and berth upgrade exits 3. The keeper, and so every agent, keeps
running. NEW-BINARY is a path on the daemon's machine.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bin := args[0]
			if len(a.hosts) == 0 {
				abs, err := filepath.Abs(bin)
				if err != nil {
					return usage("%s: %v", bin, err)
				}
				bin = abs
			} else if !filepath.IsAbs(bin) {
				return usage("with --host, give NEW-BINARY as an absolute path on that host")
			}
			return a.withClient(func(cl *api.Client) error { return a.upgrade(cmd.Context(), cl, bin, budget) })
		},
	}
	c.Flags().DurationVar(&budget, "budget", 30*time.Second, "how long the old front may drain requests and streams")
	return c
}

func (a *app) upgrade(ctx context.Context, cl *api.Client, bin string, budget time.Duration) error {
	res, err := cl.Upgrade(ctx, api.UpgradeRequest{Binary: bin, Budget: budget})
	if err != nil {
		return fmt.Errorf("upgrading: %w", err)
	}
	fmt.Fprintf(a.env.Stdout, "front: pid %d replaced by pid %d running %s (the old one drains)\n", res.OldFrontPID, res.FrontPID, res.To)
	wctx, cancel := context.WithTimeout(ctx, upgradeSettle)
	defer cancel()
	for {
		v, err := cl.Version(wctx)
		if err == nil && v.Binary == res.Binary {
			fmt.Fprintf(a.env.Stdout, "daemon: pid %d re-executed from %s\nberth upgraded from %s to %s\n", v.PID, res.Binary, res.From, res.To)
			if a.env.Version != res.To && len(a.hosts) == 0 && a.env.Exe != "" {
				// The running processes are upgraded; the file a restart
				// starts (systemd's ExecStart, the shell's berth) is not.
				fmt.Fprintf(a.env.Stdout, "note: %s is still berth %s; a restart of the daemon (systemctl restart, a reboot) starts the binary its unit names: "+
					"install the new one there too (install -m 0755 %s %s)\n", a.env.Exe, a.env.Version, bin, a.env.Exe)
			}
			return nil
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("the front runs %s, but the daemon did not answer with it within %s (last: %v); see the daemon's log",
				res.To, upgradeSettle, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
