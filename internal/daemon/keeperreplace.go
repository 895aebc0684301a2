package daemon

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/deploy"
)

// appEngine is what blindReplacer needs of the deploy engine.
type appEngine interface {
	Status(ctx context.Context, name string) ([]deploy.AppStatus, error)
	RestartInstance(ctx context.Context, app, color, reason string) error
}

// blindReplacer replaces the instances a new keeper re-adopted without
// their output pipes (the daemon was down when the keeper died, so nobody
// held them): they serve on but their output is lost. Each is restarted
// through the engine with the app's strategy: a live blue-green color by
// deploying its release to the idle color (the replacement serves before
// the blind process is touched), any other color by stop and start. Safe
// for concurrent use; Wait waits for the replacements under way.
type blindReplacer struct {
	eng appEngine
	log *slog.Logger

	mu      sync.Mutex
	running map[string]bool // apps being replaced
	wg      sync.WaitGroup
}

// replaceTries and replaceEvery bound how long a replacement waits for the
// app's lock (a deploy under way) before it gives up and says so.
const (
	replaceTries = 60
	replaceEvery = 2 * time.Second
)

func newBlindReplacer(eng appEngine, log *slog.Logger) *blindReplacer {
	return &blindReplacer{eng: eng, log: log, running: map[string]bool{}}
}

// replace starts replacing the blind instances of app, unless that runs.
func (r *blindReplacer) replace(ctx context.Context, app string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running[app] {
		return
	}
	r.running[app] = true
	r.wg.Go(func() {
		defer func() { r.mu.Lock(); delete(r.running, app); r.mu.Unlock() }()
		r.run(ctx, app)
	})
}

func (r *blindReplacer) run(ctx context.Context, app string) {
	for try := 0; try < replaceTries; try++ {
		color, ok := r.nextBlind(ctx, app)
		if !ok {
			return
		}
		err := r.eng.RestartInstance(ctx, app, color, "re-adopted without its output pipes after a keeper crash: replacing it so its output is captured")
		if err == nil {
			continue // the next blind color, if any
		}
		r.log.Warn("replacing an instance re-adopted without output", "app", app, "color", color, "err", err)
		t := time.NewTimer(replaceEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	r.log.Error("gave up replacing instances re-adopted without output; deploy the app again", "app", app)
}

// nextBlind returns the color of app to replace next: the live one first,
// so that traffic moves to a captured instance before anything else.
func (r *blindReplacer) nextBlind(ctx context.Context, app string) (string, bool) {
	apps, err := r.eng.Status(ctx, app)
	if err != nil || len(apps) == 0 || apps[0].Stopped {
		return "", false
	}
	ins := apps[0].Instances
	sort.SliceStable(ins, func(i, j int) bool { return ins[i].Live && !ins[j].Live })
	for _, in := range ins {
		if in.OutputLost {
			return in.Color, true
		}
	}
	return "", false
}

// Wait waits for the replacements under way.
func (r *blindReplacer) Wait() { r.wg.Wait() }
