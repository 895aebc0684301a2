package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/instance"

	"github.com/berth-dev/berth/internal/deploy"
)

func (a *app) statusCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "status [APP] [--json]",
		Short: "Apps, instances, release, state, pid, uptime, health",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(cl *api.Client) error {
				name := ""
				if len(args) == 1 {
					name = args[0]
				}
				apps, err := cl.Status(cmd.Context(), name)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.env.Stdout, apps)
				}
				printStatus(a.env.Stdout, apps)
				return nil
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (stable, documented in docs/cli.md)")
	return c
}

func printStatus(w io.Writer, apps []deploy.AppStatus) {
	if len(apps) == 0 {
		fmt.Fprintln(w, "no apps yet: berth init, then berth deploy")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tCOLOR\tROLE\tRELEASE\tSTATE\tPID\tUPTIME\tRESTARTS\tPORT\tHEALTH")
	for _, ap := range apps {
		if len(ap.Instances) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t-\tstopped\t-\t-\t-\t-\t-\n", ap.Name)
		}
		someServe := false // the set was read: a live instance not in it is out
		for _, in := range ap.Instances {
			someServe = someServe || in.Serving
		}
		for _, in := range ap.Instances {
			role := "idle"
			switch {
			case in.Live && someServe && !in.Serving && in.State == "running":
				role = "live,out" // out of the live set: failing readiness
			case in.Live:
				role = "live"
			case in.Warm:
				role = "warm"
			}
			uptime, pid := "-", "-"
			if in.PID != 0 {
				pid = fmt.Sprint(in.PID)
				uptime = time.Since(in.StartedAt).Round(time.Second).String()
			}
			slot := instance.New(ap.Name, in.Color, in.Index).Slot() // blue, blue.1, ...
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", ap.Name, slot, role, in.Release,
				in.State, pid, uptime, in.Restarts, in.Port, in.Health)
		}
		for _, in := range ap.Instances {
			if len(in.LastStderr) > 0 && in.State != "running" {
				fmt.Fprintf(tw, "  %s.%s last stderr: %s\n", ap.Name, instance.New(ap.Name, in.Color, in.Index).Slot(), in.LastStderr[len(in.LastStderr)-1])
			}
			if in.LogDropped > 0 {
				fmt.Fprintf(tw, "  %s.%s: %d log lines dropped (disk full or log directory unwritable; logs.on_full = \"drop\")\n", ap.Name, instance.New(ap.Name, in.Color, in.Index).Slot(), in.LogDropped)
			}
			switch {
			case in.OutputLost:
				fmt.Fprintf(tw, "  %s.%s: re-adopted after a keeper crash without its output pipes: its output is not captured; deploy again to capture it\n", ap.Name, in.Color)
			case in.Adopted:
				fmt.Fprintf(tw, "  %s.%s: re-adopted after a keeper crash (output kept; its exit status will be unknown)\n", ap.Name, in.Color)
			}
		}
	}
	tw.Flush()
	for _, ap := range apps {
		notes := ""
		if ap.Listen != "" {
			notes += " listen " + ap.Listen
		}
		notes += hostNotes(ap.Hosts)
		if ap.Paused != "" {
			notes += " PAUSED(" + ap.Paused + ")"
		}
		if ap.Deploying != "" {
			notes += " busy: " + ap.Deploying
		}
		if ap.Stopped {
			notes += " STOPPED"
		}
		if ap.Idle != nil {
			notes += fmt.Sprintf(" idle %s: %s, %d instance(s) stopped (berth rollback starts it)", ap.Idle.Color, ap.Idle.Release, ap.Idle.Instances)
		}
		if notes != "" {
			fmt.Fprintf(w, "%s:%s\n", ap.Name, notes)
		}
		if c := ap.Canary; c != nil {
			fmt.Fprintf(w, "%s: %s\n", ap.Name, canaryLine(c))
		}
	}
}

// canaryLine is a running canary in one line: its step, share, state and
// each instance's weight.
func canaryLine(c *deploy.CanaryStatus) string {
	if c.Step == 0 {
		return fmt.Sprintf("canary (deployment %s) %s, steps %v", c.Deployment, c.State, c.Steps)
	}
	names := make([]string, 0, len(c.Weights))
	for n := range c.Weights {
		names = append(names, n)
	}
	sort.Strings(names)
	ws := ""
	for _, n := range names {
		ws += fmt.Sprintf(" %s=%d", n, c.Weights[n])
	}
	return fmt.Sprintf("canary (deployment %s) step %d of %d: %d%% to the new release, step_for %s, %s; weights%s",
		c.Deployment, c.Step, len(c.Steps), c.Percent, c.StepFor, c.State, ws)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
