package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"

	"github.com/berth-dev/berth/internal/alert"
	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/internal/disk"
)

// Exit codes of `berth check disk` (docs/daemon-config.md): a breach is
// told apart from berth's other failures so cron and timers can act on it.
const (
	ExitDiskWarning  = 8
	ExitDiskCritical = 9
)

func (a *app) checkCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "check",
		Short: "Run a host check once, without the daemon (for cron or a systemd timer)",
		Args:  cobra.NoArgs,
	}
	c.AddCommand(a.checkDiskCmd(), a.checkAppCmd())
	c.AddCommand(a.checkPauseCmd(true), a.checkPauseCmd(false))
	return c
}

// checkAppCmd asks the daemon to run an app's functional checks once: for
// cron or a timer that wants a verdict of its own, next to the monitor's.
func (a *app) checkAppCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "app APP",
		Short: "Run the app's functional checks once on its live instance; exit 9 when one fails",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(cl *api.Client) error {
				results, err := cl.CheckApp(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				failed := 0
				for _, r := range results {
					verdict := "ok"
					if !r.OK {
						verdict, failed = "FAILED: "+r.Err, failed+1
					}
					fmt.Fprintf(a.env.Stdout, "%s %-20s %8s  %s\n", args[0], r.Check, r.Duration.Round(time.Millisecond), verdict)
				}
				if failed > 0 {
					return &exitError{code: ExitDiskCritical, err: fmt.Errorf("%d of %d checks of %s failed", failed, len(results), args[0])}
				}
				return nil
			})
		},
	}
}

func (a *app) checkDiskCmd() *cobra.Command {
	var cfgPath string
	var noAlert bool
	c := &cobra.Command{
		Use:   "disk",
		Short: "Check disk space and inodes once; exit 8 on a warning, 9 on a critical breach",
		Long: "Checks the filesystems of berth's home and every [[disk]] of the daemon config once,\n" +
			"prints a table, sends breaches to the configured [[alert]] sinks (not the journal,\n" +
			"which the daemon owns) and exits 0 (ok), 8 (warning) or 9 (critical).\n" +
			"Thresholds apply at once: `for` and `time_to_full` need the daemon's history.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.checkDisk(cmd.Context(), cfgPath, noAlert)
		},
	}
	c.Flags().StringVar(&cfgPath, "config", "", "the daemon config (default <home>/"+config.FileName+")")
	c.Flags().BoolVar(&noAlert, "no-alert", false, "only print; send nothing to the alert sinks")
	return c
}

func (a *app) checkDisk(ctx context.Context, cfgPath string, noAlert bool) error {
	l, err := a.layout()
	if err != nil {
		return err
	}
	if cfgPath == "" {
		cfgPath = filepath.Join(l.Root, config.FileName)
	}
	cfg, err := config.Load(cfgPath)
	if errors.Is(err, config.ErrInvalid) {
		return &exitError{code: ExitUsage, err: err}
	}
	if err != nil {
		return err
	}
	// berth's home is local disk by design, so a plain stat is safe here;
	// only the configured paths may sit on network mounts.
	var own []string
	for _, p := range []string{l.Root, filepath.Join(l.Root, "logs"), filepath.Join(l.Root, "apps")} {
		if _, err := os.Stat(p); err == nil {
			own = append(own, p)
		}
	}
	disks := cfg.Disks(own...)
	for i := range disks {
		disks[i].For = 1 // one run judges one reading
	}
	var d *alert.Dispatcher
	opts := disk.Options{}
	if !noAlert && len(cfg.Alert) > 0 {
		log := slog.New(slog.NewTextHandler(a.env.Stderr, nil))
		if d, err = alert.New(cfg.Alert, nil, log); err != nil {
			return err
		}
		opts.Alerts = d
	}
	readings := disk.New(disks, opts).Check(ctx)
	a.printDiskTable(readings)
	if d != nil {
		deliver(ctx, d)
		for _, s := range d.Stats() {
			if s.Failed+s.Dropped > 0 {
				fmt.Fprintf(a.env.Stderr, "berth: %d alert(s) not delivered to %s: %s\n", s.Failed+s.Dropped, s.Sink, s.LastError)
			}
		}
	}
	worst := disk.LevelOK
	for _, r := range readings {
		worst = max(worst, r.Status)
	}
	switch worst {
	case disk.LevelCritical:
		return &exitError{code: ExitDiskCritical, err: errSilent}
	case disk.LevelWarning:
		return &exitError{code: ExitDiskWarning, err: errSilent}
	}
	return nil
}

// deliver runs the dispatcher until every queued alert is delivered or
// given up; the sinks' own timeouts and retries bound it, and a generous
// cap guards against a sink that ignores its context.
func deliver(ctx context.Context, d *alert.Dispatcher) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	done := make(chan struct{})
	go func() {
		d.Run(ctx)
		close(done)
	}()
	d.Close()
	<-done
}

func (a *app) printDiskTable(readings []disk.Reading) {
	tw := tabwriter.NewWriter(a.env.Stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "PATH\tUSED\tFREE\tINODES\tTIME TO FULL\tSTATUS")
	for _, r := range readings {
		if r.Err != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t%s: %s\n", r.Path, r.Status, r.Err)
			continue
		}
		inodes := "-"
		if r.InodesPct >= 0 {
			inodes = strconv.FormatFloat(r.InodesPct, 'f', 1, 64) + "%"
		}
		ttf := "-"
		if r.Filling {
			ttf = disk.FormatDuration(r.TimeToFull)
		}
		fmt.Fprintf(tw, "%s\t%.1f%%\t%s\t%s\t%s\t%s\n", r.Path, r.UsedPct, disk.FormatBytes(float64(r.Avail)), inodes, ttf, r.Status)
	}
	tw.Flush()
}
