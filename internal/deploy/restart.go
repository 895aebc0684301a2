package deploy

import (
	"context"
	"fmt"

	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/state"
)

// restart is the simple pattern (and every app's first deploy): stop the
// live instance, start the new release in its place, verify it. It has
// downtime between the stop and the new instance answering; a release that
// fails is replaced by the previous one again.
func (p *plan) restart(ctx context.Context) (string, error) {
	color := p.st.Live
	if color == "" {
		color = Blue
	}
	var px proxyOrNil
	if p.app.Service != nil {
		var err error
		if err = p.j.step("bind "+p.app.Service.Listen, func() (string, error) {
			px.p, err = p.e.ensureProxy(p.app.Name, p.app.Service)
			return p.app.Service.Protocol, err
		}); err != nil {
			return "failed", err
		}
	}
	if err := aborted(p.stop); err != nil {
		return "failed", err
	}
	if p.st.Live != "" {
		p.j.note("downtime", "restart strategy: the app is down from the stop until the new release is healthy")
		if err := p.j.step("stop "+color, func() (string, error) {
			err := p.e.stopAll(ctx, idsOf(p.app.Name, p.st, color))
			return "release " + p.st.Colors[color].Release, err
		}); err != nil {
			return "failed", err
		}
	}
	cs, err := p.prepare(ctx, color)
	if err == nil {
		err = p.startAndGateAll(ctx, cs)
	}
	if err != nil {
		p.abandon(ctx, color)
		if p.st.Live != "" {
			p.restorePrevious(ctx, color)
		}
		return "failed", err
	}
	px.switchTo(p, color, cs)
	if err := p.commit(color); err != nil {
		p.abandon(ctx, color)
		if p.st.Live != "" {
			p.restorePrevious(ctx, color)
		}
		return "failed", err
	}
	p.prune(ctx)
	return "succeeded", nil
}

// restorePrevious starts the release that was live before a failed restart.
func (p *plan) restorePrevious(ctx context.Context, color string) {
	prev := p.st.Colors[color].Release
	_ = p.j.step("restore "+prev, func() (string, error) {
		for _, id := range idsOf(p.app.Name, p.st, color) {
			inst, err := p.e.previousInstance(ctx, p.st.Spec, p.st.SpecFile, id, prev, p.st.Ports[id.Slot()])
			if err != nil {
				return "", err
			}
			if _, err := p.e.rt.Start(ctx, inst); err != nil {
				return "", err
			}
		}
		_ = p.e.store.UpdateApp(p.app.Name, func(a *state.App) error {
			a.Colors[color] = p.st.Colors[color]
			return nil
		})
		return "previous release running again on " + color, nil
	})
}

// proxyOrNil lets the restart plan treat apps with and without a service alike.
type proxyOrNil struct{ p Proxy }

func (x proxyOrNil) switchTo(p *plan, color string, cs []candidate) {
	if x.p == nil {
		return
	}
	_ = p.j.step("switch to "+color, func() (string, error) {
		x.p.SwitchSet(color, members(cs))
		return fmt.Sprint(portList(cs)), nil
	})
}

// previousInstance rebuilds the instance of an earlier release from the spec
// it was deployed with.
func (e *Engine) previousInstance(ctx context.Context, specBytes []byte, specFile string, id instance.ID, relID string, port int) (runtime.Instance, error) {
	app, err := ParseSpec(specFile, specBytes)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("reading the previous spec: %w", err)
	}
	rel, err := e.findRelease(app.Name, relID)
	if err != nil {
		return runtime.Instance{}, err
	}
	return e.instanceFor(ctx, app, id, rel, port)
}
