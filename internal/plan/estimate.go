package plan

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
)

// maxMeasured is how many of the newest succeeded deploys Measure reads.
const maxMeasured = 10

// Timings are the parts of a deploy the estimates add up: the median of
// the app's measured deploys, or zero when there is none. Deploys counts
// the deploys measured.
type Timings struct {
	Start, Health, Stop, Drain time.Duration
	Deploys                    int
}

// Measure reads the timings of the newest succeeded deploys in deps (as the
// store lists them, newest first) from their "start", "health", "stop" and
// "drain" steps.
func Measure(deps []state.Deployment) Timings {
	var start, health, stop, drain []time.Duration
	n := 0
	for _, d := range deps {
		if n == maxMeasured {
			break
		}
		if d.Outcome != state.OutcomeSucceeded || d.Kind != state.KindDeploy {
			continue
		}
		seen := false
		for _, s := range d.Steps {
			if s.Outcome != state.StepOK {
				continue
			}
			verb, _, _ := strings.Cut(s.Name, " ")
			switch verb {
			case "start":
				start, seen = append(start, s.Took), true
			case "health":
				health, seen = append(health, s.Took), true
			case "stop":
				stop = append(stop, s.Took)
			case "drain":
				drain = append(drain, s.Took)
			}
		}
		if seen {
			n++
		}
	}
	return Timings{Start: median(start), Health: median(health), Stop: median(stop), Drain: median(drain), Deploys: n}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// Estimate is what the durations are made of and where the figures come
// from.
type Estimate struct {
	Timings
	VerifyFor time.Duration
	// CanarySteps and CanaryStepFor are [deploy.canary]'s, or its
	// defaults when the table is absent; a manual step counts as 0.
	CanarySteps   []int
	CanaryStepFor time.Duration
	CanaryManual  bool
	Measured      bool   // from this app's history, not the spec
	Source        string // one line saying which
}

// estimate uses the measured timings when there are some; else the spec:
// readiness passing healthy_after times at its interval (the least a start
// takes) and stop_timeout (the most a stop takes).
func estimate(app *spec.App, h Timings) Estimate {
	e := Estimate{VerifyFor: app.Deploy.VerifyFor.Duration,
		CanarySteps: spec.DefaultCanarySteps(), CanaryStepFor: spec.DefaultCanaryStepFor}
	if c := app.Deploy.Canary; c != nil {
		e.CanarySteps, e.CanaryStepFor, e.CanaryManual = c.Steps, c.StepFor.Duration, c.StepFor.Manual
	}
	if h.Deploys > 0 {
		e.Timings, e.Measured = h, true
		e.Source = fmt.Sprintf("measured: median of this app's last %d deploy(s)", h.Deploys)
		return e
	}
	var interval time.Duration
	for _, c := range app.Checks {
		if c.Role == spec.RoleReadiness {
			interval = max(interval, c.Interval.Duration)
		}
	}
	e.Health = time.Duration(app.Deploy.HealthyAfter) * interval
	e.Stop = app.Run.StopTimeout.Duration
	e.Source = "from the spec (no history): readiness healthy_after x interval to start, up to stop_timeout to stop"
	return e
}

func (e Estimate) ready() time.Duration { return e.Start + e.Health }

// gap is how long users wait while an instance is replaced in place.
func (e Estimate) gap() string { return e.about(e.Stop + e.ready()) }

func (e Estimate) restart() string { return e.about(e.Stop + e.ready()) }

func (e Estimate) blueGreen(service bool) string {
	d := e.ready() + e.VerifyFor
	if service {
		d += e.Drain
	} else {
		d += e.Stop
	}
	return e.about(d)
}

func (e Estimate) rolling(n, batch int, service bool) string {
	batches := (n + max(batch, 1) - 1) / max(batch, 1)
	each := e.ready() + e.Stop
	if service {
		each += e.Drain
	}
	return e.about(time.Duration(batches)*each + e.VerifyFor)
}

// canary is the new instances' start, every step held step_for (the last,
// at 100%, too: the old instances stay up to take the traffic back), and
// the old ones' drain.
// Manual steps last as long as the operator takes: the estimate says so.
func (e Estimate) canary() string {
	held := time.Duration(len(e.CanarySteps)) * e.CanaryStepFor
	if e.CanaryManual {
		return e.about(e.ready()+e.Drain) + " + manual steps"
	}
	return e.about(e.ready() + held + e.Drain)
}

func (e Estimate) canarySteps() string {
	parts := make([]string, len(e.CanarySteps))
	for i, s := range e.CanarySteps {
		parts[i] = fmt.Sprintf("%d%%", s)
	}
	return strings.Join(parts, ", ")
}

func (e Estimate) canaryStepFor() string {
	if e.CanaryManual {
		return spec.StepManual
	}
	return short(e.CanaryStepFor)
}

func (e Estimate) about(d time.Duration) string { return "~" + short(d) }

// short prints a duration rounded for a table: 850ms, 12s, 1m30s.
func short(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
