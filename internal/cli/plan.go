package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/plan"
	"github.com/berth-dev/berth/internal/spec"
)

// historyTimeout bounds the wait for a daemon's history: berth plan works
// without a daemon and must not hang on a stuck one.
const historyTimeout = 3 * time.Second

func (a *app) planCmd() *cobra.Command {
	var file string
	var asJSON bool
	c := &cobra.Command{
		Use:   "plan [-f berth.toml] [--json]",
		Short: "Print the trade-off matrix of the deploy strategies for an app and the one that fits its [constraints]",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := os.ReadFile(file)
			if err != nil {
				return usage("reading spec: %v", err)
			}
			app, err := spec.Parse(file, data)
			if err != nil {
				return a.specError(err)
			}
			h, note := a.measured(cmd.Context(), app.Name)
			p, perr := plan.Make(app, h)
			if asJSON {
				err = writeJSON(a.env.Stdout, p)
			} else {
				fmt.Fprintf(a.env.Stdout, "history: %s\n", note)
				err = plan.Write(a.env.Stdout, app, p)
			}
			if err != nil {
				return err
			}
			return a.planError(file, data, perr)
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "berth.toml", "the app spec")
	c.Flags().BoolVar(&asJSON, "json", false, `print {"strategy", "settings", "options"} as JSON`)
	return c
}

// measured returns the timings of the app's past deploys when a daemon
// answers, and a note saying where the estimates come from.
func (a *app) measured(ctx context.Context, name string) (plan.Timings, string) {
	cl, err := a.client()
	if err != nil {
		return plan.Timings{}, "none (" + err.Error() + ")"
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, historyTimeout)
	defer cancel()
	ds, err := cl.History(ctx, name, 50)
	var ae *api.Error
	switch {
	case errors.Is(err, api.ErrNoDaemon):
		return plan.Timings{}, "none (no daemon answers; estimates from the spec)"
	case errors.As(err, &ae) && ae.Code == api.CodeNotFound:
		return plan.Timings{}, "none (the daemon has no deploys of " + name + ")"
	case err != nil:
		return plan.Timings{}, "none (" + err.Error() + ")"
	}
	h := plan.Measure(ds)
	if h.Deploys == 0 {
		return h, fmt.Sprintf("%d deployment(s) of %s, none succeeded to measure", len(ds), name)
	}
	return h, fmt.Sprintf("%d succeeded deploy(s) of %s measured", h.Deploys, name)
}

// planError turns the planner's "nothing fits" into a spec problem at the
// key to relax (exit 2), printed like every other spec problem.
func (a *app) planError(file string, data []byte, err error) error {
	var pe *plan.Error
	if !errors.As(err, &pe) {
		return err
	}
	return a.specError(&spec.Errors{Problems: []spec.Problem{spec.Locate(file, data, pe.Key, pe.Msg)}})
}

// resolve parses a spec as the engine runs it (deploy.ParseSpec: auto
// replaced by the planner's choice, what the engine cannot run refused)
// and, for strategy = "auto", returns the plan behind the choice, its
// estimates from timings when given (the choice itself never depends on them).
func resolve(file string, data []byte, timings func(app string) plan.Timings) (*spec.App, *plan.Plan, error) {
	raw, err := spec.Parse(file, data)
	if err != nil {
		return nil, nil, err
	}
	app, err := deploy.ParseSpec(file, data)
	if err != nil || raw.Deploy.Strategy != spec.StrategyAuto {
		return app, nil, err
	}
	var h plan.Timings
	if timings != nil {
		h = timings(raw.Name)
	}
	p, err := plan.Make(raw, h)
	if err != nil {
		return nil, nil, fmt.Errorf("planning %s: %w", app.Name, err)
	}
	return app, &p, nil
}

// printChoice says what strategy = "auto" chose and why, before anything runs.
func printChoice(w io.Writer, p *plan.Plan) {
	if p != nil {
		fmt.Fprintf(w, "strategy auto: %s%s: %s\n", p.Strategy, plan.FormatSettings(p.Settings), p.Reason)
	}
}
