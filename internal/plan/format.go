package plan

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/berth-dev/berth/internal/spec"
)

// Write prints the plan of app for a terminal: the constraints, the matrix,
// the chosen strategy with its settings and why, and the containers line.
func Write(w io.Writer, app *spec.App, p Plan) error {
	c := app.Constraints
	kind := "a worker (no [service])"
	if app.Service != nil {
		kind = "[service] " + strings.TrimSpace(app.Service.Listen+" "+strings.Join(app.Service.Hosts, " "))
	}
	fmt.Fprintf(w, "app %s: %d instance(s), %s\n", app.Name, max(app.Deploy.Instances, 1), kind)
	fmt.Fprintf(w, "constraints: downtime = %q, singleton = %t, max_extra_instances = %d\n", c.Downtime, c.Singleton, c.MaxExtraInstances)
	fmt.Fprintf(w, "durations %s\n\n", p.Estimate.Source)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STRATEGY\tFITS\tDOWNTIME\tROLLBACK\tEXTRA\tDURATION\tWHY")
	for _, o := range p.Options {
		mark := "no"
		if o.Fits {
			mark = "yes"
		}
		if o.Strategy == p.Strategy {
			mark += " *"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", o.Strategy, mark, o.Downtime, o.Rollback, o.ExtraInstances, o.Duration, o.Why)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the plan: %w", err)
	}
	fmt.Fprintln(w)
	switch {
	case p.Strategy == "":
		fmt.Fprintf(w, "chosen: none: %s\n", p.Reason)
	case p.Auto:
		fmt.Fprintf(w, "chosen: %s%s (strategy = \"auto\")\n  why: %s\n", p.Strategy, FormatSettings(p.Settings), p.Reason)
	default:
		fmt.Fprintf(w, "chosen: %s%s\n  why: %s\n", p.Strategy, FormatSettings(p.Settings), p.Reason)
		if p.Choice != "" && p.Choice != p.Strategy {
			fmt.Fprintf(w, "  strategy = \"auto\" would choose %s\n", p.Choice)
		}
	}
	_, err := fmt.Fprintf(w, "containers: %s\n", p.Containers)
	return err
}

// FormatSettings prints settings as " key=value" pairs in key order.
func FormatSettings(s map[string]any) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(s)) {
		fmt.Fprintf(&b, " %s=%v", k, s[k])
	}
	return b.String()
}
