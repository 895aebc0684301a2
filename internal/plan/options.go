package plan

import (
	"fmt"

	"github.com/berth-dev/berth/internal/spec"
)

// option is one row of the matrix: what the strategy costs this app and
// whether it fits the constraints.
func (in input) option(strategy string) Option {
	switch strategy {
	case spec.StrategyRestart:
		return in.restart()
	case spec.StrategyBlueGreen:
		return in.blueGreen()
	case spec.StrategyRolling:
		return in.rolling()
	}
	return in.canaryOption()
}

func (in input) restart() Option {
	gap := in.est.gap()
	o := Option{Strategy: spec.StrategyRestart, Downtime: gap, ExtraInstances: 0,
		Rollback: "slow: a restart of the previous release, another gap", Duration: in.est.restart()}
	switch {
	case !in.gapOK:
		o.Why = fmt.Sprintf(`stops the old instance before the new one is ready: a gap of %s, but downtime = "none"`, gap)
	case in.singleton:
		o.Fits, o.Why = true, "never two copies at once: the old one stops before the new one starts"
	default:
		o.Fits, o.Why = true, `needs no extra instance; the gap is allowed by downtime = "seconds"`
	}
	return o
}

func (in input) blueGreen() Option {
	o := Option{Strategy: spec.StrategyBlueGreen, Downtime: "none", ExtraInstances: in.n,
		Rollback: "instant: the old color stays warm", Duration: in.est.blueGreen(in.service)}
	if !in.warm {
		o.Rollback = "a start of the old release beside the new one (keep_warm = \"0s\"), no downtime"
	}
	switch {
	case in.singleton:
		o.Why = "runs the new copy beside the old one, but singleton = true: a bot would answer twice"
	case in.extra < in.n:
		o.Why = fmt.Sprintf("needs %d extra instance(s), but max_extra_instances = %d", in.n, in.extra)
	default:
		o.Fits, o.Why = true, fmt.Sprintf("zero downtime and an instant rollback for %d extra instance(s)", in.n)
	}
	return o
}

func (in input) rolling() Option {
	surge, unavailable := in.surge()
	o := Option{Strategy: spec.StrategyRolling, Downtime: "none", ExtraInstances: surge,
		Rollback: "gradual: the replaced instances go back batch by batch", Duration: in.est.rolling(in.n, max(surge, unavailable), in.service)}
	switch {
	case in.singleton:
		o.Why = "starts new instances while old ones run, but singleton = true"
	case surge > 0 && in.extra >= in.n:
		o.Fits, o.Why = true, fmt.Sprintf("fits in batches of %d, but bluegreen gives an instant rollback for the same room", surge)
	case surge > 0:
		o.Fits, o.Why = true, fmt.Sprintf("batches of %d (max_surge = %d): zero downtime with fewer extra instances than bluegreen", surge, surge)
	case in.n > 1:
		o.Fits, o.Why = true, fmt.Sprintf("one instance at a time (max_unavailable = 1): %d of %d serve during the deploy", in.n-1, in.n)
	default:
		o.Downtime = in.est.gap()
		o.Why = "one instance and no room for another: replacing it leaves none serving"
	}
	return o
}

func (in input) canaryOption() Option {
	o := Option{Strategy: spec.StrategyCanary, Downtime: "none", ExtraInstances: in.n,
		Rollback: "instant: the canary's weight goes to 0", Duration: in.est.canary()}
	switch {
	case !in.service:
		o.Downtime, o.Rollback = "-", "-"
		o.Why = "splits requests between releases, and a worker takes none"
	case in.singleton:
		o.Why = "runs both releases at once, but singleton = true"
	case in.extra < in.n:
		o.Why = fmt.Sprintf("needs %d extra instance(s), but max_extra_instances = %d", in.n, in.extra)
	case in.canary:
		o.Fits, o.Why = true, "[deploy.canary] is present: steps "+in.est.canarySteps()+", each held "+in.est.canaryStepFor()
	default:
		o.Fits, o.Why = true, "fits; chosen only when asked (strategy = \"canary\" or [deploy.canary])"
	}
	return o
}
