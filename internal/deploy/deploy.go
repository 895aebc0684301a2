package deploy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/internal/release"
	"github.com/berth-dev/berth/internal/secrets"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
)

// Kinds of deployment.
const (
	KindDeploy   = "deploy"
	KindRollback = "rollback"
	KindRestart  = "restart"
)

// Request asks for one deploy.
type Request struct {
	SpecFile  string // absolute path of berth.toml, for messages and the record
	Spec      []byte // its bytes
	Source    string // release: a directory or an archive; "" = the spec's directory
	ReleaseID string // or an installed release (rollback, restart)
	User      string // who asked
	Kind      string // KindDeploy (default), KindRollback, KindRestart
}

// Deploy installs the requested release and makes it live with the app's
// strategy. It returns the finished deployment record; the error wraps
// ErrFailed when the release did not go live (the previous one still serves).
// A deploy, once begun, runs to its end even when ctx is cancelled: leaving
// it half-done would be worse than finishing or rolling back.
func (e *Engine) Deploy(ctx context.Context, req Request, out ProgressFunc) (dep state.Deployment, err error) {
	app, err := ParseSpec(req.SpecFile, req.Spec)
	if err != nil {
		return state.Deployment{}, err
	}
	// Refused before anything is recorded or started.
	if err := secrets.New(e.home).Missing(app.Name, app.Run.Secrets); err != nil {
		return state.Deployment{}, err
	}
	ctx = context.WithoutCancel(ctx)

	st, err := e.store.GetApp(app.Name)
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		return state.Deployment{}, fmt.Errorf("reading app %s: %w", app.Name, err)
	}
	if req.Kind == "" {
		req.Kind = KindDeploy
	}
	d, unlock, err := e.begin(state.Deployment{
		App: app.Name, Kind: req.Kind, Strategy: app.Deploy.Strategy,
		User: req.User, StartedAt: time.Now(), FromRelease: st.Colors[st.Live].Release,
	})
	if err != nil {
		return state.Deployment{}, err
	}
	defer unlock()
	r, stop := e.track(ctx, d, out)
	defer func() { e.untrack(r, dep, err) }()
	j := j0(e, d, r.emit)
	// Read again under the lock: a deploy that just finished changed it.
	// A first deploy records the app at once, so that even one failing
	// before any instance ran leaves an app to explain and to remove.
	if st, err = e.store.GetApp(app.Name); errors.Is(err, state.ErrNotFound) {
		st, err = state.App{Name: app.Name}, e.store.UpdateApp(app.Name, func(*state.App) error { return nil })
	}
	if err != nil {
		return j.finish("failed", err.Error()), err
	}
	j.event("started", fmt.Sprintf("%s of %s by %s", req.Kind, app.Name, req.User), nil)

	rel, err := e.install(stop, j, app, req)
	if err == nil {
		err = aborted(stop) // an abort during a step that ignores ctx
	}
	if err != nil {
		err = abortReason(err, stop)
		return j.finish(outcomeOf("failed", stop), err.Error()), fmt.Errorf("%w: %v", ErrFailed, err)
	}
	j.d.Release = rel.ID
	p := plan{e: e, j: j, app: app, spec: req.Spec, st: st, rel: rel, stop: stop, tr: r}
	outcome, err := p.run(ctx)
	if err != nil {
		err = abortReason(err, stop)
		return j.finish(outcomeOf(outcome, stop), err.Error()), fmt.Errorf("%w: %v", ErrFailed, err)
	}
	return j.finish(outcome, ""), nil
}

// abortReason names the abort in a failure it caused: a step cut short
// reports only that its context ended.
func abortReason(err error, stop context.Context) error {
	if aerr := aborted(stop); aerr != nil && !errors.Is(err, ErrAborted) {
		return fmt.Errorf("%w (%v)", aerr, err)
	}
	return err
}

// outcomeOf is a failed deploy's outcome: aborted when Abort stopped it.
func outcomeOf(outcome string, stop context.Context) string {
	if aborted(stop) != nil {
		return state.OutcomeAborted
	}
	return outcome
}

func j0(e *Engine, d state.Deployment, out ProgressFunc) *journal {
	return &journal{rec: e.rec, store: e.store, log: e.log, out: out, d: d}
}

// install copies or unpacks the release, or finds an installed one.
func (e *Engine) install(ctx context.Context, j *journal, app *spec.App, req Request) (release.Release, error) {
	appDir := e.home.AppDir(app.Name)
	if req.ReleaseID != "" {
		var rel release.Release
		err := j.step("find release "+req.ReleaseID, func() (string, error) {
			var err error
			rel, err = e.findRelease(app.Name, req.ReleaseID)
			return rel.Dir, err
		})
		return rel, err
	}
	src := req.Source
	if src == "" {
		src = filepath.Dir(req.SpecFile)
	}
	var rel release.Release
	err := j.step("install release", func() (string, error) {
		var err error
		rel, err = release.Install(ctx, src, appDir, release.Limits{})
		if err != nil {
			return "", err
		}
		return rel.ID + " from " + src, nil
	})
	return rel, err
}

// findRelease returns an installed release of app.
func (e *Engine) findRelease(app, id string) (release.Release, error) {
	rels, err := release.List(e.home.AppDir(app))
	if err != nil {
		return release.Release{}, err
	}
	for _, r := range rels {
		if r.ID == id {
			return r, nil
		}
	}
	return release.Release{}, fmt.Errorf("release %s of %s is not installed", id, app)
}
