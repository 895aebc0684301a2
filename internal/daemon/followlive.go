package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/logs"
)

// liveCheckEvery is how often a follower looks for a new live color.
const liveCheckEvery = 300 * time.Millisecond

// followLive follows the log of app's live color, starting with color, and
// when a switch makes the other color live follows that one too (from the
// moment the follow began, so the new color's lines since then are not
// missed), each line labelled with its color. The old color's reader stays
// on: a draining instance still writes. It returns when ctx ends.
func (r logReader) followLive(ctx context.Context, app, color string, q logs.Query, out func(logs.Line) error) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	var mu sync.Mutex // out is called by one reader at a time
	errc := make(chan error, 2)
	following := map[string]bool{}
	start := func(color string, q logs.Query) {
		following[color] = true
		wg.Go(func() {
			errc <- r.readColor(ctx, app, color, q, func(l logs.Line) error {
				l.Color = color
				mu.Lock()
				defer mu.Unlock()
				return out(l)
			})
		})
	}
	began := time.Now()
	start(color, q)
	tick := time.NewTicker(liveCheckEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if err != nil {
				return err
			}
		case <-tick.C:
			st, err := r.store.GetApp(app)
			if err == nil && st.Live != "" && !following[st.Live] && len(following) < 2 {
				start(st.Live, logs.Query{Since: began, Streams: q.Streams, Follow: true})
			}
		}
	}
}
