package plan

import (
	"fmt"

	"github.com/berth-dev/berth/internal/spec"
)

// input is what the rules read from a spec.
type input struct {
	n         int  // instances
	extra     int  // max_extra_instances
	singleton bool // two copies must never run at once
	gapOK     bool // downtime = "seconds"
	service   bool // takes traffic through the proxy
	warm      bool // bluegreen keeps the old color warm for an instant rollback
	canary    bool // [deploy.canary] is present: canary is asked for
	est       Estimate
}

func inputOf(app *spec.App, h Timings) input {
	c := app.Constraints
	return input{
		n: max(app.Deploy.Instances, 1), extra: c.MaxExtraInstances, singleton: c.Singleton,
		gapOK: c.Downtime == spec.DowntimeSeconds, service: app.Service != nil,
		warm: app.Deploy.KeepWarm != "0s", canary: app.Deploy.Canary != nil, est: estimate(app, h),
	}
}

// choose applies the rules, in order. It returns the strategy, its
// settings and one line of why, or an *Error when nothing fits.
func (in input) choose() (string, map[string]any, string, error) {
	gap := in.est.gap()
	if o := in.canaryOption(); in.canary && o.Fits {
		return spec.StrategyCanary, in.settings(spec.StrategyCanary),
			"[deploy.canary] is present and fits: the new release takes a growing share of requests, judged after each step", nil
	}
	switch {
	case in.singleton && !in.gapOK:
		return "", nil, "", &Error{Key: "constraints.downtime", Msg: fmt.Sprintf(
			`singleton = true means the old copy stops before the new one starts, a gap of %s that no strategy can avoid, `+
				`but downtime = "none"; relax one: downtime = "seconds" (accept the gap) or singleton = false (if two copies may overlap for a moment)`, gap)}
	case in.singleton:
		return spec.StrategyRestart, in.settings(spec.StrategyRestart),
			fmt.Sprintf("singleton = true: two copies must never run at once, so the old one stops first; this costs a gap of %s", gap), nil
	case in.extra >= in.n:
		why := fmt.Sprintf("room for %d extra instance(s) (max_extra_instances = %d): zero downtime and an instant rollback", in.n, in.extra)
		if !in.service {
			why = fmt.Sprintf("a worker, not a singleton: the new one starts and passes its checks before the old one stops (%d extra instance(s))", in.n)
		}
		return spec.StrategyBlueGreen, in.settings(spec.StrategyBlueGreen), why, nil
	case in.extra >= 1:
		return spec.StrategyRolling, in.settings(spec.StrategyRolling),
			fmt.Sprintf("room for %d extra instance(s), fewer than the %d a bluegreen needs: rolling in batches of %d, zero downtime", in.extra, in.n, in.extra), nil
	case in.n > 1:
		return spec.StrategyRolling, in.settings(spec.StrategyRolling),
			fmt.Sprintf("no room for an extra instance, but %d instances: rolling one at a time (max_unavailable = 1), %d keep serving", in.n, in.n-1), nil
	case in.gapOK:
		return spec.StrategyRestart, in.settings(spec.StrategyRestart),
			fmt.Sprintf(`no room for an extra instance and downtime = "seconds": restart, a gap of %s`, gap), nil
	}
	return "", nil, "", &Error{Key: "constraints.max_extra_instances", Msg: `downtime = "none" needs a second copy serving while the new one starts, ` +
		"but max_extra_instances = 0 leaves no room for one and instances = 1 leaves no other to keep serving; relax one: " +
		`max_extra_instances = 1 (bluegreen), instances = 2 or more (rolling, max_unavailable = 1) or downtime = "seconds" (restart, a gap of ` + gap + ")"}
}

// settings are the knobs a strategy runs with for this app.
func (in input) settings(strategy string) map[string]any {
	switch strategy {
	case spec.StrategyRestart:
		return map[string]any{"stop_first": true}
	case spec.StrategyBlueGreen:
		return map[string]any{"instances": in.n}
	case spec.StrategyRolling:
		surge, unavailable := in.surge()
		return map[string]any{"instances": in.n, "max_surge": surge, "max_unavailable": unavailable}
	case spec.StrategyCanary:
		return map[string]any{"instances": in.n, "steps": in.est.CanarySteps, "step_for": in.est.canaryStepFor()}
	}
	return map[string]any{}
}

// surge is rolling's batch: as many extra instances as the host affords
// (at most N), else one instance below N at a time.
func (in input) surge() (maxSurge, maxUnavailable int) {
	if in.extra >= 1 {
		return min(in.extra, in.n), 0
	}
	return 0, 1
}
