package deploy

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/health"
	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/proxy"
	"github.com/berth-dev/berth/internal/release"
	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
)

// plan is one deploy in progress: the steps of a strategy over the parts.
type plan struct {
	e    *Engine
	j    *journal
	app  *spec.App
	spec []byte
	st   state.App // the app as it was when the deploy began
	rel  release.Release
	// stop is cancelled by Abort: forward steps run under it, the undoing
	// of a failed deploy under the plan's own context.
	stop context.Context
	tr   *run
}

func (p *plan) run(ctx context.Context) (string, error) {
	switch {
	case p.app.Deploy.Strategy == spec.StrategyRestart || p.st.Live == "":
		return p.restart(ctx)
	case p.app.Deploy.Strategy == spec.StrategyRolling:
		return p.rolling(ctx)
	case p.app.Deploy.Strategy == spec.StrategyCanary && p.app.Service != nil:
		return p.canary(ctx)
	case p.app.Service != nil:
		return p.blueGreen(ctx)
	default:
		return p.worker(ctx)
	}
}

// candidate is an instance being brought up by this deploy.
type candidate struct {
	id    instance.ID
	color string
	port  int
	inst  runtime.Instance
	// since is a moment after the color's previous instance stopped and
	// before this one started: its heartbeats count from here.
	since time.Time
	pid   int // its main process once started
}

func (c candidate) target(rt runtime.Runtime) health.Target {
	t := checkTarget(rt, c.inst, c.port)
	t.Since, t.PID = c.since, c.pid
	return t
}

// checkTarget is what an instance's checks probe; exec checks run as the
// agent's user, or inside its container.
func checkTarget(rt runtime.Runtime, inst runtime.Instance, port int) health.Target {
	t := health.Target{Host: "127.0.0.1", Port: port, Dir: inst.Dir, Env: inst.Env, LogPath: inst.LogPath}
	t.Exec = execIn(rt, inst.ID, inst.Backend)
	for _, kv := range inst.Env {
		if v, ok := strings.CutPrefix(kv, "BERTH_SHARED="); ok {
			t.Shared = v
		}
		if v, ok := strings.CutPrefix(kv, "BERTH_COLOR="); ok {
			t.Color = v
		}
	}
	if os.Geteuid() == 0 && inst.User != "" {
		t.Cred = &syscall.Credential{Uid: inst.UID, Gid: inst.GID, Groups: []uint32{}}
	}
	return t
}

func (c candidate) proxyTarget() proxy.Target { return proxyTarget(c.id.Slot(), c.port) }

// members is the proxy set of cs.
func members(cs []candidate) []proxy.Member {
	out := make([]proxy.Member, len(cs))
	for i, c := range cs {
		out[i] = proxy.Member{Target: c.proxyTarget(), Weight: 1}
	}
	return out
}

// prepare builds color's instances of the new release ([deploy]
// instances of them), frees the color (a warm instance of an older
// release may hold it, with another count) and checks their ports.
func (p *plan) prepare(ctx context.Context, color string) ([]candidate, error) {
	if err := aborted(p.stop); err != nil {
		return nil, err
	}
	n := max(p.app.Deploy.Instances, 1)
	var cs []candidate
	err := p.j.step("prepare "+color, func() (string, error) {
		old := idsOf(p.app.Name, p.st, color)
		if len(old) < n {
			old = instance.Of(p.app.Name, color, n)
		}
		if err := p.e.stopAll(ctx, old); err != nil {
			return "", fmt.Errorf("stopping the idle %s: %w", color, err)
		}
		ports := map[string]int{}
		for _, id := range instance.Of(p.app.Name, color, n) {
			port, err := portFor(p.app, p.st, id)
			if err != nil {
				return "", err
			}
			if err := checkPortFree(port); err != nil {
				return "", err
			}
			inst, err := p.e.instanceFor(ctx, p.app, id, p.rel, port)
			if err != nil {
				return "", err
			}
			cs = append(cs, candidate{id: id, color: color, port: port, inst: inst, since: time.Now()})
			p.e.seen.reset(inst.ID, p.app.Checks)
			if port != 0 {
				ports[id.Slot()] = port
			}
		}
		err := p.e.store.UpdateApp(p.app.Name, func(a *state.App) error {
			if a.Ports == nil {
				a.Ports = map[string]int{}
			}
			if a.Colors == nil {
				a.Colors = map[string]state.Color{}
			}
			for k, v := range ports {
				a.Ports[k] = v
			}
			a.Colors[color] = state.Color{Release: p.rel.ID, Instance: cs[0].inst.ID, Instances: n}
			return nil
		})
		if len(ports) == 0 {
			return fmt.Sprintf("%d instance(s), no port (worker)", n), err
		}
		return fmt.Sprintf("%d instance(s), ports %v", n, portList(cs)), err
	})
	return cs, err
}

func portList(cs []candidate) []int {
	out := make([]int, len(cs))
	for i, c := range cs {
		out[i] = c.port
	}
	return out
}

// startAndGateAll starts every candidate, then waits until each passes
// its checks: they warm up side by side.
func (p *plan) startAndGateAll(ctx context.Context, cs []candidate) error {
	for i := range cs {
		if err := p.start(ctx, &cs[i]); err != nil {
			return err
		}
	}
	for _, c := range cs {
		if err := p.gate(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// start starts the candidate.
func (p *plan) start(ctx context.Context, c *candidate) error {
	if ip, ok := p.e.rt.(runtime.ImagePreparer); ok && spec.IsContainer(c.inst.Backend) {
		step := "image " + c.id.Slot()
		if err := p.j.step(step, func() (string, error) {
			return ip.PrepareImage(ctx, c.inst, func(line string) { p.j.note(step, line) })
		}); err != nil {
			return err
		}
	}
	return p.j.step("start "+c.id.Slot(), func() (string, error) {
		st, err := p.e.rt.Start(ctx, c.inst)
		if err != nil {
			return "", err
		}
		c.pid = st.PID
		return fmt.Sprintf("pid %d, release %s", st.PID, p.rel.ID), nil
	})
}

// gate waits until the started candidate's checks pass.
func (p *plan) gate(ctx context.Context, c candidate) error {
	return p.j.step("health "+c.id.Slot(), func() (string, error) {
		n, last := 0, ""
		record := p.e.checkRecorder(p.app, c.id.Slot())
		err := health.WaitHealthy(p.stop, p.app.Checks, c.target(p.e.rt), p.app.Deploy.HealthyAfter,
			p.alive(ctx, c.inst.ID), func(r health.Result) {
				record(r)
				p.e.seen.record(c.inst.ID, r)
				n++
				// Say each new failure once; a probe that keeps failing the
				// same way is in the step's final line.
				if msg := r.Check + ": " + r.Err; !r.OK && msg != last {
					p.j.note("health "+c.id.Slot(), msg)
					last = msg
				}
			})
		if aerr := aborted(p.stop); aerr != nil {
			return "", aerr
		}
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("healthy after %d probes", n), nil
	})
}

// alive reports an error once the instance is no longer running.
func (p *plan) alive(ctx context.Context, id string) func() error {
	return func() error {
		st, err := p.e.rt.Status(ctx, id)
		if err != nil {
			return err
		}
		if st.State != runtime.StateRunning {
			return fmt.Errorf("instance %s is %s (%s)%s", id, st.State, st.LastExit, stderrTail(st))
		}
		return nil
	}
}

func stderrTail(st runtime.Status) string {
	if len(st.LastStderr) == 0 {
		return ""
	}
	return "; stderr: " + st.LastStderr[len(st.LastStderr)-1]
}

// abandon stops the candidates of color that will not go live.
func (p *plan) abandon(ctx context.Context, color string) {
	p.tr.undo()
	n := max(p.app.Deploy.Instances, 1)
	_ = p.j.step("stop "+color, func() (string, error) {
		err := p.e.stopAll(ctx, instance.Of(p.app.Name, color, n))
		return "release " + p.rel.ID + " abandoned", err
	})
	_ = p.e.store.UpdateApp(p.app.Name, func(a *state.App) error {
		if color != a.Live {
			delete(a.Colors, color)
		}
		return nil
	})
}

// commit records color as live with the new release and spec.
// An aborted deploy does not commit; once it has, Abort refuses.
func (p *plan) commit(color string) error {
	if p.tr == nil {
		return p.commitStep(color)
	}
	return p.tr.commit(p.stop, func() error { return p.commitStep(color) })
}

func (p *plan) commitStep(color string) error {
	return p.j.step("commit", func() (string, error) {
		err := p.e.store.UpdateApp(p.app.Name, func(a *state.App) error {
			a.Live = color
			a.SpecFile = p.app.File
			a.Spec = p.spec
			a.Stopped = false
			c := a.Colors[color]
			c.Release, c.Instance, c.StartedAt, c.Warm = p.rel.ID, instanceID(p.app.Name, color), time.Now(), false
			a.Colors[color] = c
			a.UpdatedAt = time.Now()
			return nil
		})
		if err != nil {
			return "", err
		}
		p.j.d.Live = color
		if err := release.SetCurrent(p.e.home.AppDir(p.app.Name), p.rel.ID); err != nil {
			return "", err
		}
		return color + " live with " + p.rel.ID, nil
	})
}

// prune removes releases beyond keep_releases, never a running one.
func (p *plan) prune(ctx context.Context) {
	_ = p.j.step("prune releases", func() (string, error) {
		st, err := p.e.store.GetApp(p.app.Name)
		if err != nil {
			return "", err
		}
		var protect []string
		for _, c := range st.Colors {
			protect = append(protect, c.Release)
		}
		removed, err := release.Prune(p.e.home.AppDir(p.app.Name), p.app.Deploy.KeepReleases, protect...)
		if err != nil || !spec.IsContainer(p.app.Run.Runtime) {
			return fmt.Sprintf("removed %d", len(removed)), err
		}
		// The images of kept releases stay, so rollback --to runs the exact
		// image; those of the removed ones go with them.
		pr, ok := p.e.rt.(runtime.ImagePruner)
		if !ok {
			return fmt.Sprintf("removed %d", len(removed)), nil
		}
		ids, err := pr.PruneImages(ctx, p.app.Name, removed)
		return fmt.Sprintf("removed %d, and %d images", len(removed), len(ids)), err
	})
}

func proxyTarget(color string, port int) proxy.Target {
	return proxy.Target{Name: color, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
}
