package dashboard

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/release"
	"github.com/berth-dev/berth/internal/state"
)

// appView is one app as the overview and the app page show it.
type appView struct {
	deploy.AppStatus
	Uptime       time.Duration
	Restarts     int
	Checks       []checkView
	ChecksPaused bool
	Last         Sample // the newest traffic sample
	Series       []Sample
	Running      *state.Deployment // the deploy in progress, if any
	Step         string            // its current step
}

// checkView is the latest result of one check on one instance.
type checkView struct {
	Color string
	health.Result
}

// appViews reads every app (or only name) through the engine, as `berth
// status` does, and adds the monitor's results and the samples.
func (d *Dashboard) appViews(ctx context.Context, name string) ([]appView, error) {
	apps, err := d.cfg.Engine.Status(ctx, name)
	if err != nil {
		return nil, err
	}
	out := make([]appView, 0, len(apps))
	for _, a := range apps {
		out = append(out, d.appView(a))
	}
	return out, nil
}

func (d *Dashboard) appView(a deploy.AppStatus) appView {
	v := appView{AppStatus: a, Series: d.samples.appSeries(a.Name)}
	if n := len(v.Series); n > 0 {
		v.Last = v.Series[n-1]
	}
	now := d.cfg.Now()
	for _, in := range a.Instances {
		v.Restarts += in.Restarts
		if in.Live && !in.StartedAt.IsZero() && (v.Uptime == 0 || now.Sub(in.StartedAt) < v.Uptime) {
			v.Uptime = now.Sub(in.StartedAt)
		}
	}
	res := d.checkResults(a.Name)
	colors := make([]string, 0, len(res))
	for c := range res {
		colors = append(colors, c)
	}
	slices.Sort(colors)
	for _, c := range colors {
		for _, r := range res[c] {
			v.Checks = append(v.Checks, checkView{Color: c, Result: r})
		}
	}
	if d.cfg.Monitor != nil {
		v.ChecksPaused = d.cfg.Monitor.ChecksPaused(a.Name)
	}
	if a.Deploying != "" {
		if ds, err := d.cfg.Store.ListDeployments(a.Name, 1); err == nil && len(ds) == 1 && ds[0].Outcome == state.OutcomeRunning {
			v.Running = &ds[0]
			if n := len(ds[0].Steps); n > 0 {
				v.Step = ds[0].Steps[n-1].Name + " (" + ds[0].Steps[n-1].Outcome + ")"
			}
		}
	}
	return v
}

// appPageView is everything the app page shows.
type appPageView struct {
	App         appView
	Deployments []state.Deployment
	Rollbacks   []state.Deployment // automatic rollbacks, with their numbers
	Releases    []releaseView
}

// releaseView is one installed release and whether it can be rolled back to.
type releaseView struct {
	ID      string
	Created time.Time
	Live    bool
	Warm    bool
}

// historyLimit is how many deployments the app page shows.
const historyLimit = 20

func (d *Dashboard) appPageView(ctx context.Context, name string) (appPageView, error) {
	vs, err := d.appViews(ctx, name)
	if err != nil {
		return appPageView{}, err
	}
	p := appPageView{App: vs[0]}
	if p.Deployments, err = d.cfg.Store.ListDeployments(name, historyLimit); err != nil {
		return appPageView{}, err
	}
	for _, dep := range p.Deployments {
		if dep.Outcome == state.OutcomeRolledBack {
			p.Rollbacks = append(p.Rollbacks, dep)
		}
	}
	rels, err := release.List(d.cfg.Home.AppDir(name))
	if err != nil {
		return appPageView{}, err
	}
	for i := len(rels) - 1; i >= 0; i-- {
		rv := releaseView{ID: rels[i].ID, Created: rels[i].Created}
		for _, in := range p.App.Instances {
			if in.Release == rv.ID {
				rv.Live = rv.Live || in.Live
				rv.Warm = rv.Warm || in.Warm
			}
		}
		p.Releases = append(p.Releases, rv)
	}
	return p, nil
}

// eventsView is the events page: the newest events, filtered.
type eventsView struct {
	App, Kind string
	Events    []state.Event
	Kinds     []string // the kinds among the events, for the filter
}

// eventsLimit is how many of the newest events the events page reads.
const eventsLimit = 300

func (d *Dashboard) eventsView(app, kind string) (eventsView, error) {
	evs, err := d.cfg.Store.TailEvents(app, eventsLimit)
	if err != nil {
		return eventsView{}, err
	}
	v := eventsView{App: app, Kind: kind}
	seen := map[string]bool{}
	for i := len(evs) - 1; i >= 0; i-- { // newest first
		e := evs[i]
		if !seen[e.Kind] {
			seen[e.Kind] = true
			v.Kinds = append(v.Kinds, e.Kind)
		}
		if kind == "" || strings.HasPrefix(e.Kind, kind) {
			v.Events = append(v.Events, e)
		}
	}
	slices.Sort(v.Kinds)
	return v, nil
}
