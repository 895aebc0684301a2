package deploy

import (
	"context"
	"errors"
)

// worker is blue-green for agents without a [service] (queue workers, bots
// that poll): start the new one, verify it, then stop the old one. With
// overlap = false the old one is stopped first, for singletons that must
// never run twice; that accepts a gap.
func (p *plan) worker(ctx context.Context) (string, error) {
	live, idle := p.st.Live, other(p.st.Live)
	overlap := p.app.Deploy.Overlap == nil || *p.app.Deploy.Overlap
	if err := aborted(p.stop); err != nil {
		return "failed", err
	}
	if !overlap {
		p.j.note("gap", "overlap = false: the old instance stops before the new one starts")
		if err := p.stopColor(ctx, live); err != nil {
			return "failed", err
		}
	}
	cs, err := p.prepare(ctx, idle)
	if err == nil {
		err = p.startAndGateAll(ctx, cs)
	}
	if err == nil {
		if v := p.verify(ctx, nil, cs, zeroStats, zeroStats); v != nil {
			err = errors.New(v.reason)
			p.j.d.Numbers = v.numbers
		}
	}
	if err != nil {
		p.abandon(ctx, idle)
		if !overlap {
			p.restorePrevious(ctx, live)
		}
		return "failed", err
	}
	if err := p.commit(idle); err != nil {
		p.abandon(ctx, idle)
		if !overlap {
			p.restorePrevious(ctx, live)
		}
		return "failed", err
	}
	if overlap {
		if err := p.stopColor(ctx, live); err != nil {
			return "failed", err
		}
	}
	p.prune(ctx)
	return "succeeded", nil
}

func (p *plan) stopColor(ctx context.Context, color string) error {
	return p.j.step("stop "+color, func() (string, error) {
		err := p.e.stopAll(ctx, idsOf(p.app.Name, p.st, color))
		return "release " + p.st.Colors[color].Release, err
	})
}
