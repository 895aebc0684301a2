package spec

import (
	"fmt"
	"math"
)

// MaxInstances bounds [deploy] instances: each instance is a process and
// a port, and a box berth runs on is one server.
const MaxInstances = 64

func (v *validator) deploy(d *Deploy, svc *Service) {
	v.oneOf("deploy.strategy", "a strategy", d.Strategy, StrategyRestart, StrategyBlueGreen, StrategyRolling, StrategyCanary, StrategyAuto)
	v.canary(d, svc)
	switch {
	case d.MaxSurge < 0 || d.MaxUnavailable < 0:
		v.fail("deploy.max_surge", "max_surge %d and max_unavailable %d must not be negative", d.MaxSurge, d.MaxUnavailable)
	case d.MaxSurge == 0 && d.MaxUnavailable == 0:
		v.fail("deploy.max_surge", "max_surge and max_unavailable are both 0: a rolling deploy could neither add nor remove an instance; allow 1 of either")
	case d.MaxUnavailable >= d.Instances && d.Instances > 0 && d.Strategy == StrategyRolling:
		v.fail("deploy.max_unavailable", "%d would let all %d instances stop at once; keep it below instances or use strategy = %q", d.MaxUnavailable, d.Instances, StrategyRestart)
	}
	if d.KeepReleases < 1 {
		v.fail("deploy.keep_releases", "%d is too small; keep at least 1 release (the live one)", d.KeepReleases)
	}
	if d.HealthyAfter < 1 {
		v.fail("deploy.healthy_after", "%d is too small; readiness must pass at least once before traffic moves", d.HealthyAfter)
	}
	if d.KeepWarm != KeepWarmUntilNextDeploy {
		if err := new(Duration).UnmarshalText([]byte(d.KeepWarm)); err != nil {
			v.fail("deploy.keep_warm", "%q is neither %q nor a duration like \"10m\" or \"0s\"", d.KeepWarm, KeepWarmUntilNextDeploy)
		}
	}
	v.ports(d.Ports, svc)
	switch {
	case d.Instances < 1 || d.Instances > MaxInstances:
		v.fail("deploy.instances", "%d is out of range; run 1 to %d instances", d.Instances, MaxInstances)
	case d.Instances > 1 && len(d.Ports) > 0:
		v.fail("deploy.instances", "%d instances need ports of their own; pinned deploy.ports name one port per color, so remove deploy.ports and let berth pick", d.Instances)
	}
	if !(d.MaxErrorRate >= 0 && d.MaxErrorRate <= 1) {
		v.fail("deploy.max_error_rate", "%v is out of range; use a fraction from 0 to 1, like 0.05 for 5%%", d.MaxErrorRate)
	}
	if d.MaxLatencyRise != 0 && !(d.MaxLatencyRise >= 1 && !math.IsInf(d.MaxLatencyRise, 0)) {
		v.fail("deploy.max_latency_rise", "%v is out of range; use a ratio of 1 or more (3.0 = roll back when p99 latency triples), or 0 to disable", d.MaxLatencyRise)
	}
	if d.MinRequests < 0 {
		v.fail("deploy.min_requests", "%d is negative; use 0 or more", d.MinRequests)
	}
}

// ports checks pinned blue/green ports: none, or two distinct ports apart
// from the public one.
func (v *validator) ports(ports []int, svc *Service) {
	if len(ports) == 0 {
		return
	}
	if len(ports) != 2 {
		v.fail("deploy.ports", "give exactly two ports, one per color, like [9001, 9002], or leave it out to let berth pick")
		return
	}
	listen := 0
	if svc != nil {
		listen, _ = listenPort(svc.Listen)
	}
	for i, p := range ports {
		path := fmt.Sprintf("deploy.ports[%d]", i)
		switch {
		case p < 1 || p > 65535:
			v.fail(path, "%d is not a port; use 1 to 65535", p)
		case p == listen:
			v.fail(path, "%d is also [service] listen's port; the instances need ports of their own", p)
		case i == 1 && p == ports[0]:
			v.fail(path, "%d is used twice; blue and green need different ports", p)
		}
	}
}
