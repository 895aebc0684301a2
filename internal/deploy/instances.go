package deploy

import (
	"context"
	"errors"
	"sync"

	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/proxy"
	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/state"
)

// idsOf lists the instances app's color runs according to the store.
func idsOf(app string, st state.App, color string) []instance.ID {
	return instance.Of(app, color, st.Colors[color].Count())
}

// colorSet is the proxy set of app's color as the store records it.
func colorSet(app string, st state.App, color string) []proxy.Member {
	var ms []proxy.Member
	for _, id := range idsOf(app, st, color) {
		ms = append(ms, proxy.Member{Target: proxyTarget(id.Slot(), st.Ports[id.Slot()]), Weight: 1})
	}
	return ms
}

// switchColor makes every instance of color live at once.
func switchColor(px Proxy, app string, st state.App, color string) proxy.Target {
	return px.SwitchSet(color, colorSet(app, st, color))
}

// stopAll stops instances (missing ones are fine), in parallel: each stop
// may wait for its agent's stop_timeout.
func (e *Engine) stopAll(ctx context.Context, ids []instance.ID) error {
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			_, err := e.rt.Stop(ctx, id.String())
			if errors.Is(err, runtime.ErrNotFound) {
				err = nil
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// statsOf sums the proxy's numbers of every candidate.
func statsOf(px Proxy, cs []candidate) proxy.Stats {
	var sum proxy.Stats
	for _, c := range cs {
		sum = sum.Add(px.Stats(c.id.Slot()))
	}
	return sum
}

// statsOfColor sums the proxy's numbers of color's recorded instances.
func statsOfColor(px Proxy, app string, st state.App, color string) proxy.Stats {
	var cs []candidate
	for _, id := range idsOf(app, st, color) {
		cs = append(cs, candidate{id: id})
	}
	return statsOf(px, cs)
}

// Slots lists the proxy target names of app's instances by color as the
// store records them ("blue", "blue.1", ...): what the metrics sum per
// color. An unknown app has none.
func (e *Engine) Slots(app string) map[string][]string {
	st, err := e.store.GetApp(app)
	if err != nil {
		return nil
	}
	out := map[string][]string{}
	for color := range st.Colors {
		for _, id := range idsOf(app, st, color) {
			out[color] = append(out[color], id.Slot())
		}
	}
	return out
}
