package deploy

import (
	"errors"
	"fmt"

	planner "github.com/berth-dev/berth/internal/plan"
	"github.com/berth-dev/berth/internal/spec"
)

// ParseSpec parses a spec the way the engine runs it: strategy = "auto" is
// replaced by the planner's choice (internal/plan), so every consumer of a
// parsed deployed spec (deploy, restart, control, monitor, status) sees the
// same concrete strategy. The choice depends on the spec alone, never on
// history, so parsing the same bytes again always gives the same strategy.
// A spec asking for what this engine cannot run yet is refused as an
// invalid spec pointing at the key. ParseSpec is safe for concurrent use.
func ParseSpec(file string, data []byte) (*spec.App, error) {
	app, err := spec.Parse(file, data)
	if err != nil {
		return nil, err
	}
	if app.Deploy.Strategy == spec.StrategyAuto {
		p, err := planner.Make(app, planner.Timings{})
		var pe *planner.Error
		if errors.As(err, &pe) {
			return nil, &spec.Errors{Problems: []spec.Problem{spec.Locate(file, data, pe.Key, pe.Msg)}}
		}
		if err != nil {
			return nil, fmt.Errorf("planning the strategy: %w", err)
		}
		// The hook for the rolling engine: it reads the chosen settings
		// (p.Settings: max_surge, max_unavailable) from here.
		app.Deploy.Strategy = p.Strategy
	}
	if key, msg := unavailable(app); key != "" {
		return nil, &spec.Errors{Problems: []spec.Problem{spec.Locate(file, data, key, msg)}}
	}
	return app, nil
}

// unavailable names what app asks for that this engine cannot run yet: a
// deploy must refuse rather than run something else.
func unavailable(app *spec.App) (key, msg string) {
	switch {
	case app.Deploy.Strategy == spec.StrategyRolling:
		return "deploy.strategy", `strategy = "auto" chose rolling for these constraints, but this berth has no rolling engine yet; ` +
			`raise [constraints] max_extra_instances to deploy.instances (bluegreen) or allow downtime = "seconds" with instances = 1 (restart)`
	case app.Deploy.Instances > 1:
		return "deploy.instances", fmt.Sprintf("%d instances are not available yet in this berth; use instances = 1", app.Deploy.Instances)
	}
	return "", ""
}
