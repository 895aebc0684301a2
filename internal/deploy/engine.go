// Package deploy is berth's deploy engine: it turns an app spec and a
// release into running, verified instances behind the app's proxy, with the
// strategy the spec asks for, and journals every step in the state store so
// a daemon crash at any step recovers to a consistent state.
//
// An Engine is safe for concurrent use; deploys of one app are serialised by
// a per-app lock, deploys of different apps run in parallel.
package deploy

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
)

// Colors of the two instances of an app.
const (
	Blue  = "blue"
	Green = "green"
)

// ErrBusy is returned when another deploy of the same app is running.
var ErrBusy = errors.New("another deploy of this app is running")

// ErrFailed wraps the reason a deploy did not make its release live.
var ErrFailed = errors.New("deploy failed")

// ErrUnknownApp is returned for an app berth has never deployed.
var ErrUnknownApp = errors.New("unknown app")

// ErrUnknownRelease is returned for a release id the app does not have.
var ErrUnknownRelease = errors.New("unknown release")

// Engine deploys apps and keeps their proxies pointed at the live color.
type Engine struct {
	store *state.Store
	rt    runtime.Runtime
	home  home.Layout
	log   *slog.Logger
	rec   Recorder
	hs    HealthSource
	seen  *gateSeen  // what deploys see of their candidates
	specs *specCache // deployed specs, parsed once per change
	px    *registry
	pool  *pool // live instances out of their set for failing readiness

	mu     sync.Mutex
	busy   map[string]string      // app -> what holds its lock ("deployment 17", "stop")
	runs   map[string]*run        // app -> its deploy in progress, for Abort and Attach
	timers map[string]*time.Timer // keep_warm expiries
	wg     sync.WaitGroup
}

// Recorder counts deploys and check results (metrics); it must not block.
type Recorder interface {
	DeployFinished(app, kind, outcome string, took time.Duration)
	CheckResult(app, color, check, role string, ok bool, took time.Duration)
}

type noRecorder struct{}

func (noRecorder) DeployFinished(string, string, string, time.Duration)            {}
func (noRecorder) CheckResult(string, string, string, string, bool, time.Duration) {}

// Config holds an Engine's dependencies.
type Config struct {
	Store   *state.Store
	Runtime runtime.Runtime
	Home    home.Layout
	Logger  *slog.Logger
	Metrics Recorder // may be nil
	// Front serves the apps' proxies; nil means an in-process LocalFront
	// with Inherited.
	Front Front
	// Inherited returns a listener the daemon was handed for app's proxy
	// on addr (systemd socket activation), or nil to bind addr. May be
	// nil; used only when Front is nil.
	Inherited func(app, addr string) net.Listener
	// Health knows the latest check results of watched instances; Status
	// probes only the ones it does not know. May be nil.
	Health HealthSource
}

// HealthSource knows the latest health of running instances (the
// monitor), as Status shows it.
type HealthSource interface {
	Latest(app, color, release string) (health string, ok bool)
}

// New returns an Engine. Call Restore once at daemon start, Close at exit.
func New(cfg Config) *Engine {
	if cfg.Metrics == nil {
		cfg.Metrics = noRecorder{}
	}
	if cfg.Front == nil {
		cfg.Front = NewLocalFront(cfg.Logger, cfg.Inherited)
	}
	return &Engine{
		rec:    cfg.Metrics,
		px:     newRegistry(cfg.Front),
		pool:   newPool(),
		hs:     cfg.Health,
		seen:   newGateSeen(),
		specs:  newSpecCache(),
		store:  cfg.Store,
		rt:     cfg.Runtime,
		home:   cfg.Home,
		log:    cfg.Logger,
		busy:   map[string]string{},
		runs:   map[string]*run{},
		timers: map[string]*time.Timer{},
	}
}

// Close releases the front (an in-process one stops its proxies; a front
// process keeps serving) and waits for the engine's goroutines. Agents
// keep running: they belong to the keeper, and the next daemon re-adopts
// them.
func (e *Engine) Close() error {
	e.mu.Lock()
	for _, t := range e.timers {
		t.Stop()
	}
	e.mu.Unlock()
	err := e.px.close()
	e.wg.Wait()
	return err
}

// lock takes the app's deploy lock for what (shown to whoever is refused);
// the returned func releases it.
func (e *Engine) lock(app, what string) (func(), error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lockLocked(app, what)
}

func (e *Engine) lockLocked(app, what string) (func(), error) {
	if running, ok := e.busy[app]; ok {
		return nil, fmt.Errorf("%w: %s of %s", ErrBusy, running, app)
	}
	e.busy[app] = what
	return func() {
		e.mu.Lock()
		delete(e.busy, app)
		e.mu.Unlock()
	}, nil
}

// begin records a new deployment and takes the app's lock in one step, so
// a refused deploy leaves no record and always names a real deployment.
func (e *Engine) begin(d state.Deployment) (state.Deployment, func(), error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if running, ok := e.busy[d.App]; ok {
		return d, nil, fmt.Errorf("%w: %s of %s", ErrBusy, running, d.App)
	}
	d, err := e.store.BeginDeployment(d)
	if err != nil {
		return d, nil, fmt.Errorf("recording deployment: %w", err)
	}
	unlock, _ := e.lockLocked(d.App, "deployment "+d.ID)
	return d, unlock, nil
}

// EachProxy calls fn for every app's proxy, outside the engine's lock.
func (e *Engine) EachProxy(fn func(app string, p Proxy)) { e.px.each(fn) }

// checkRecorder returns an onResult that records app's check results.
func (e *Engine) checkRecorder(app *spec.App, color string) func(health.Result) {
	roles := map[string]string{}
	for _, c := range app.Checks {
		roles[c.Name] = c.Role
	}
	return func(r health.Result) {
		e.rec.CheckResult(app.Name, color, r.Check, roles[r.Check], r.OK, r.Duration)
	}
}

// Proxy returns the app's proxy, if it has one.
func (e *Engine) Proxy(app string) (Proxy, bool) { return e.px.get(app) }

// ensureProxy returns the app's proxy, routing a new one when there is
// none or when the spec moved it to another address or protocol. A port
// conflict is an error here, before anything live is touched.
func (e *Engine) ensureProxy(app string, svc *spec.Service) (Proxy, error) {
	return e.px.ensure(app, svc)
}

// dropProxy removes an app's proxy (the app lost its [service]).
func (e *Engine) dropProxy(app string) { e.px.drop(app) }

func other(color string) string {
	if color == Blue {
		return Green
	}
	return Blue
}

// instanceID is the runtime id of app's first instance of color.
func instanceID(app, color string) string { return instance.New(app, color, 0).String() }
