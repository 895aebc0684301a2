package spec

import (
	"fmt"
	"math"
	"time"

	"github.com/berth-dev/berth/internal/tomlconf"
)

// Canary defaults that docs/spec.md promises; keep the two in step.
const (
	DefaultCanaryStepFor      = time.Minute
	DefaultCanaryMaxErrorRate = Percent(1)
	DefaultCanaryMaxP99Ratio  = 2.0
	DefaultCanaryMinRequests  = 50
)

// DefaultCanarySteps are the canary's shares of requests when
// [deploy.canary] gives no steps.
func DefaultCanarySteps() []int { return []int{10, 50, 100} }

// StepManual is the step_for that holds each step until `berth promote`.
const StepManual = "manual"

// Percent is a share from 0 to 100 written as "1%" or "12.5%".
type Percent = tomlconf.Percent

// Canary tunes strategy = "canary": the new release gets a growing share
// of requests, step by step, and is judged against the old one after each.
type Canary struct {
	Steps        []int   `toml:"steps"`          // percent of requests to the new release, ascending, last 100
	StepFor      StepFor `toml:"step_for"`       // how long a step is held and analysed, or "manual"
	MaxErrorRate Percent `toml:"max_error_rate"` // new release's 5xx + connection errors over a step; default 1%
	MaxP99Ratio  float64 `toml:"max_p99_ratio"`  // new p99 / old p99 over the step; default 2.0 (0 disables)
	MinRequests  int     `toml:"min_requests"`   // new-release requests a step needs before it is judged; default 50
}

// StepFor is a canary step's hold: a duration, or Manual (written
// "manual"), which waits for `berth promote`.
type StepFor struct {
	Duration time.Duration
	Manual   bool
}

// UnmarshalText reads "manual" or a Go duration such as "30s".
func (s *StepFor) UnmarshalText(text []byte) error {
	if string(text) == StepManual {
		*s = StepFor{Manual: true}
		return nil
	}
	var d Duration
	if err := d.UnmarshalText(text); err != nil {
		return fmt.Errorf("%w, or %q to wait for berth promote", err, StepManual)
	}
	*s = StepFor{Duration: d.Duration}
	return nil
}

// MarshalText writes what UnmarshalText reads.
func (s StepFor) MarshalText() ([]byte, error) {
	if s.Manual {
		return []byte(StepManual), nil
	}
	return []byte(s.Duration.String()), nil
}

// String is the step_for as written.
func (s StepFor) String() string {
	b, _ := s.MarshalText()
	return string(b)
}

// canaryDefaults fills [deploy.canary]; a canary strategy without the table
// gets one of defaults.
func canaryDefaults(d *Deploy, t *tomlconf.Node) {
	if d.Canary == nil {
		if d.Strategy != StrategyCanary {
			return
		}
		d.Canary = &Canary{}
	}
	c := d.Canary
	if t.Field("steps") == nil {
		c.Steps = DefaultCanarySteps()
	}
	if t.Field("step_for") == nil {
		c.StepFor = StepFor{Duration: DefaultCanaryStepFor}
	}
	if t.Field("max_error_rate") == nil {
		c.MaxErrorRate = DefaultCanaryMaxErrorRate
	}
	setFloat(&c.MaxP99Ratio, t, "max_p99_ratio", DefaultCanaryMaxP99Ratio)
	setInt(&c.MinRequests, t, "min_requests", DefaultCanaryMinRequests)
}

// canary checks [deploy.canary]: steps ascending from 1 to 100 ending at
// 100, a positive hold, sane bounds, and a [service] to split.
func (v *validator) canary(d *Deploy, svc *Service) {
	if d.Strategy == StrategyCanary && svc == nil {
		v.fail("deploy.strategy", "canary splits requests between two releases, and an app without [service] takes none; add a [service] or use strategy = %q", StrategyBlueGreen)
	}
	c := d.Canary
	if c == nil {
		return
	}
	if len(c.Steps) == 0 {
		v.fail("deploy.canary.steps", "is empty; give the percent of requests for each step, ascending and ending at 100, like [10, 50, 100]")
	}
	for i, s := range c.Steps {
		path := fmt.Sprintf("deploy.canary.steps[%d]", i)
		switch {
		case s < 1 || s > 100:
			v.fail(path, "%d is out of range; a step is 1 to 100 percent of requests", s)
		case i > 0 && s <= c.Steps[i-1]:
			v.fail(path, "%d does not rise above the step before (%d); steps ascend, like [10, 50, 100]", s, c.Steps[i-1])
		case i == len(c.Steps)-1 && s != 100:
			v.fail(path, "the last step is %d; end at 100, where the new release takes every request", s)
		}
	}
	if !c.StepFor.Manual && c.StepFor.Duration <= 0 {
		v.fail("deploy.canary.step_for", "0s would judge a step on no requests; give a duration like \"1m\" or %q", StepManual)
	}
	if c.MaxP99Ratio != 0 && !(c.MaxP99Ratio >= 1 && !math.IsInf(c.MaxP99Ratio, 0)) {
		v.fail("deploy.canary.max_p99_ratio", "%v is out of range; use a ratio of 1 or more (2.0 = fail when the new p99 doubles the old one), or 0 to disable", c.MaxP99Ratio)
	}
	if c.MinRequests < 1 {
		v.fail("deploy.canary.min_requests", "%d is too small; a step needs at least 1 request to be judged (50 is the default)", c.MinRequests)
	}
}
