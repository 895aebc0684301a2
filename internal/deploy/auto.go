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
// A rolling choice carries the planner's max_surge and max_unavailable.
// ParseSpec is safe for concurrent use.
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
		app.Deploy.Strategy = p.Strategy
		if p.Strategy == spec.StrategyRolling {
			app.Deploy.MaxSurge = setting(p.Settings, "max_surge", app.Deploy.MaxSurge)
			app.Deploy.MaxUnavailable = setting(p.Settings, "max_unavailable", app.Deploy.MaxUnavailable)
		}
	}
	return app, nil
}

// setting reads an integer the planner chose, else keeps def.
func setting(s map[string]any, key string, def int) int {
	if v, ok := s[key].(int); ok {
		return v
	}
	return def
}
