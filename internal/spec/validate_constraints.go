package spec

import (
	"fmt"

	"github.com/berth-dev/berth/internal/tomlconf"
)

// constraints checks [constraints] and warns when an explicit strategy
// contradicts a constraint written in the file. Defaults never warn: a spec
// that declares nothing has nothing to contradict.
func (v *validator) constraints(a *App) {
	c := &a.Constraints
	v.oneOf("constraints.downtime", "a downtime", c.Downtime, DowntimeNone, DowntimeSeconds)
	if c.MaxExtraInstances < 0 {
		v.fail("constraints.max_extra_instances", "%d is negative; use 0 (no room for a second copy) or more", c.MaxExtraInstances)
	}
	if c.Singleton && a.Deploy.Instances > 1 {
		v.fail("deploy.instances", "%d instances contradict [constraints] singleton = true (two copies must never run at once); use instances = 1 or singleton = false", a.Deploy.Instances)
	}
	t := v.root.Field("constraints")
	switch a.Deploy.Strategy {
	case StrategyBlueGreen:
		stopFirst := a.Service == nil && a.Deploy.Overlap != nil && !*a.Deploy.Overlap
		if t.Field("singleton") != nil && c.Singleton && !stopFirst {
			v.warn("deploy.strategy", `bluegreen runs the new copy beside the old one, but [constraints] singleton = true: a bot would answer twice; use strategy = "restart" or "auto"`)
		}
		if n := t.Field("max_extra_instances"); n != nil && c.MaxExtraInstances < a.Deploy.Instances && !stopFirst {
			v.warn("deploy.strategy", `bluegreen starts %d extra instance(s), but [constraints] max_extra_instances = %d; use strategy = "auto" to choose one that fits`, a.Deploy.Instances, c.MaxExtraInstances)
		}
	case StrategyCanary:
		if t.Field("singleton") != nil && c.Singleton {
			v.warn("deploy.strategy", `canary runs both releases at once, but [constraints] singleton = true; use strategy = "restart" or "auto"`)
		}
		if n := t.Field("max_extra_instances"); n != nil && c.MaxExtraInstances < a.Deploy.Instances {
			v.warn("deploy.strategy", `canary starts %d extra instance(s) beside the old ones, but [constraints] max_extra_instances = %d; use strategy = "auto" to choose one that fits`, a.Deploy.Instances, c.MaxExtraInstances)
		}
	case StrategyRestart:
		if t.Field("downtime") != nil && c.Downtime == DowntimeNone {
			v.warn("deploy.strategy", `restart stops the old instance before the new one is ready, but [constraints] downtime = "none"; use strategy = "bluegreen" or "auto"`)
		}
	}
}

// warn records a warning at path: the spec is still valid.
func (v *validator) warn(path, format string, args ...any) {
	at := v.doc.Locate(path)
	v.warnings = append(v.warnings, tomlconf.Problem{File: v.doc.File(), Line: at.Line, Col: at.Col,
		Key: path, Msg: fmt.Sprintf(format, args...)})
}
