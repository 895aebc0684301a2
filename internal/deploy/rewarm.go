package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
)

// rewarm brings back the warm instance that a failed blue-green deploy took
// the idle color from, so that `berth rollback` after the failure is the
// same single switch it was before the deploy. The failed deploy returns
// only once the previous release passes its checks on that color again.
func (p *plan) rewarm(ctx context.Context, color string) {
	prev, ok := p.st.Colors[color]
	if !ok || !prev.Warm || prev.Release == "" || color == p.st.Live {
		return
	}
	_ = p.j.step("rewarm "+color, func() (string, error) {
		detail, err := p.e.startWarm(ctx, p.st, color, prev)
		if err != nil {
			return "", fmt.Errorf("bringing %s back warm on %s: %w", prev.Release, color, err)
		}
		// Its keep_warm expiry may have passed during the deploy (it gives
		// way to a running deploy): it starts again, as the live spec says.
		if live, err := ParseSpec(p.st.SpecFile, p.st.Spec); err == nil {
			if d, err := time.ParseDuration(live.Deploy.KeepWarm); err == nil && d > 0 {
				p.e.stopWarmAfter(p.app.Name, color, d)
			}
		}
		return detail, nil
	})
}

// startWarm starts release prev.Release on color (all its instances)
// with the spec it was deployed with, waits until each is healthy and
// records the color as warm.
func (e *Engine) startWarm(ctx context.Context, st state.App, color string, prev state.Color) (string, error) {
	file, data := e.releaseSpec(st, prev.Release)
	a, err := ParseSpec(file, data)
	if err != nil {
		return "", fmt.Errorf("reading the spec of %s: %w", prev.Release, err)
	}
	ids := instance.Of(st.Name, color, prev.Count())
	// Whatever holds the color now (the abandoned candidate, or the warm
	// instance itself when the deploy failed before it stopped it) goes.
	if err := e.stopAll(ctx, ids); err != nil {
		return "", err
	}
	for _, id := range ids {
		if err := e.startWarmOne(ctx, st, a, data, file, id, prev.Release); err != nil {
			return "", err
		}
	}
	err = e.store.UpdateApp(st.Name, func(rec *state.App) error {
		if rec.Colors == nil {
			rec.Colors = map[string]state.Color{}
		}
		c := prev
		c.Instance, c.Warm, c.StartedAt = ids[0].String(), true, time.Now()
		rec.Colors[color] = c
		return nil
	})
	return fmt.Sprintf("release %s warm again (%d instance(s)): berth rollback %s is one switch", prev.Release, len(ids), st.Name), err
}

// startWarmOne starts one instance of an earlier release and gates it.
func (e *Engine) startWarmOne(ctx context.Context, st state.App, a *spec.App, data []byte, file string, id instance.ID, relID string) error {
	port, err := portFor(a, st, id)
	if err != nil {
		return err
	}
	inst, err := e.previousInstance(ctx, data, file, id, relID, port)
	if err != nil {
		return err
	}
	if _, err := e.rt.Start(ctx, inst); err != nil {
		return err
	}
	alive := func() error {
		s, err := e.rt.Status(ctx, inst.ID)
		if err == nil && s.State != runtime.StateRunning {
			err = fmt.Errorf("%s is %s (%s)%s", inst.ID, s.State, s.LastExit, stderrTail(s))
		}
		return err
	}
	return health.WaitHealthy(ctx, a.Checks, checkTarget(e.rt, inst, port), a.Deploy.HealthyAfter, alive, e.checkRecorder(a, id.Slot()))
}
