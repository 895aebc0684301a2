// Package plan is berth's planner: from an app's spec (and, when it has
// some, the measured timings of its past deploys) it builds the trade-off
// matrix of the four deploy strategies (restart, bluegreen, rolling,
// canary) and chooses the one that fits the app's [constraints].
//
// Everything here is a pure function of its arguments and safe for
// concurrent use.
package plan

import (
	"errors"
	"fmt"

	"github.com/berth-dev/berth/internal/spec"
)

// ErrNoFit is matched (errors.Is) by the *Error Make returns when no
// strategy can meet the app's constraints.
var ErrNoFit = errors.New("no strategy fits the constraints")

// Error says why no strategy fits and which key to relax.
type Error struct {
	Key string // the spec key to change, such as "constraints.downtime"
	Msg string // why nothing fits and what to relax
}

func (e *Error) Error() string { return e.Key + ": " + e.Msg }

// Is reports whether target is ErrNoFit.
func (e *Error) Is(target error) bool { return target == ErrNoFit }

// Option is one row of the trade-off matrix.
type Option struct {
	Strategy       string `json:"strategy"`
	Fits           bool   `json:"fits"`
	Downtime       string `json:"downtime"` // "none", or how long users see a gap
	Rollback       string `json:"rollback"` // how fast a bad release is undone
	ExtraInstances int    `json:"extra_instances"`
	Why            string `json:"why"`
	// Duration is the estimated length of one deploy; see Plan.Estimate
	// for where its figures come from.
	Duration string `json:"-"`
}

// Plan is the matrix and the strategy a deploy of the app runs.
type Plan struct {
	// Strategy is the one a deploy runs: the spec's, or the planner's
	// choice when the spec says "auto" ("" when nothing fits).
	Strategy string         `json:"strategy"`
	Settings map[string]any `json:"settings"`
	Options  []Option       `json:"options"` // restart, bluegreen, rolling, canary

	Auto       bool     `json:"-"` // the planner chose Strategy
	Choice     string   `json:"-"` // what auto would choose, even when the spec names a strategy
	Reason     string   `json:"-"` // why Strategy
	Estimate   Estimate `json:"-"`
	Containers string   `json:"-"` // when a container runtime would add value
}

// Make builds the plan of app. h holds the measured timings of the app's
// past deploys (zero when it has none: estimates then come from the spec).
// When the spec says "auto" and nothing fits, Make returns the plan (the
// matrix, Strategy "") and an *Error.
func Make(app *spec.App, h Timings) (Plan, error) {
	in := inputOf(app, h)
	p := Plan{Estimate: in.est, Containers: containers(app)}
	for _, s := range []string{spec.StrategyRestart, spec.StrategyBlueGreen, spec.StrategyRolling, spec.StrategyCanary} {
		p.Options = append(p.Options, in.option(s))
	}
	choice, settings, reason, err := in.choose()
	p.Choice = choice
	if app.Deploy.Strategy != spec.StrategyAuto {
		p.Strategy, p.Settings = app.Deploy.Strategy, in.settings(app.Deploy.Strategy)
		p.Reason = fmt.Sprintf("set in the spec (strategy = %q)", app.Deploy.Strategy)
		if o := p.option(p.Strategy); o != nil && !o.Fits {
			p.Reason += "; it does not fit the constraints: " + o.Why
		}
		return p, nil
	}
	p.Auto = true
	if err != nil {
		p.Settings = map[string]any{}
		p.Reason = err.Error()
		return p, err
	}
	p.Strategy, p.Settings, p.Reason = choice, settings, reason
	return p, nil
}

func (p *Plan) option(strategy string) *Option {
	for i := range p.Options {
		if p.Options[i].Strategy == strategy {
			return &p.Options[i]
		}
	}
	return nil
}

// containers says when a container runtime would add value over berth's
// own: the brief's three reasons, with what this app already has.
func containers(app *spec.App) string {
	if spec.IsContainer(app.Run.Runtime) {
		return "runs as a " + app.Run.Runtime + " container: worth it for a reproducible userland, dependencies isolated from " +
			"other agents, or an image that also runs on an orchestrator (berth export); a static binary on one host gains " +
			"little from it and pays the engine's start time on every deploy (docs/benchmarks.md)"
	}
	isolation := "isolation between agents beyond a user of their own (runtime = \"systemd\" adds cgroups and hardening without one)"
	if app.Run.Runtime != spec.RuntimeEmbedded {
		isolation = "isolation between agents beyond the systemd unit's cgroups and hardening"
	}
	return "not needed for one agent on one host; a container runtime would add value for a reproducible userland " +
		"(the release runs on this host's libraries), " + isolation + ", or more than one host"
}
