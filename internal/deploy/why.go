package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/runtime"
)

// crashWindow is how far back `berth why` counts restarts.
const crashWindow = 10 * time.Minute

// Why explains an app's current state in a few lines, for `berth why`: what
// runs, what is wrong with it, what happened last and what to do.
func (e *Engine) Why(ctx context.Context, name string) ([]string, error) {
	st, a, err := e.appRecord(name)
	if err != nil {
		return nil, err
	}
	var out []string
	say := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	switch {
	case st.Stopped:
		say("stopped by an operator: berth start %s", name)
	case st.Live == "":
		say("nothing is live: the first deploy never succeeded")
	}
	if st.Paused != "" {
		say("paused (%s): new requests are %s; berth resume %s", st.Paused, map[string]string{"hold": "held", "refuse": "refused with 503"}[st.Paused], name)
	}
	e.mu.Lock()
	busy := e.busy[name]
	e.mu.Unlock()
	if busy != "" {
		say("busy: %s is running", busy)
	}
	exits := e.recentExits(name)
	for color, c := range st.Colors {
		s, err := e.rt.Status(ctx, c.Instance)
		if err != nil {
			say("%s: release %s is not running (%v)", color, c.Release, err)
			continue
		}
		role := map[bool]string{true: "live", false: "warm"}[color == st.Live]
		line := fmt.Sprintf("%s (%s): %s, release %s", color, role, s.State, c.Release)
		if s.State == runtime.StateRunning {
			line += fmt.Sprintf(", pid %d, up %s", s.PID, time.Since(s.StartedAt).Round(time.Second))
		}
		switch {
		case s.OutputLost:
			line += ", re-adopted after a keeper crash without its output pipes (output not captured: deploy again)"
		case s.Adopted:
			line += ", re-adopted after a keeper crash (output kept)"
		}
		if n := exits[c.Instance]; n > 0 {
			line += fmt.Sprintf("; %d exits in the last %s", n, crashWindow)
		}
		if s.LastExit != "" {
			line += ", last " + s.LastExit
		}
		if len(s.LastStderr) > 0 && s.State != runtime.StateRunning {
			line += "; stderr: " + s.LastStderr[len(s.LastStderr)-1]
		}
		if s.State == runtime.StateCrashloop {
			line += "; the keeper keeps retrying with backoff: fix and deploy, or berth rollback " + name
		}
		say("%s", line)
	}
	if len(a.Checks) > 0 && st.Live != "" {
		t := e.runningTarget(ctx, a, st, st.Live)
		say("health of %s now: %s", st.Live, probeOnce(ctx, a.Checks, t))
	}
	if ds, err := e.store.ListDeployments(name, 1); err == nil && len(ds) > 0 {
		d := ds[0]
		line := fmt.Sprintf("last %s #%s (%s by %s, %s ago): %s", d.Kind, d.ID, d.Release, d.User,
			time.Since(d.StartedAt).Round(time.Second), d.Outcome)
		if d.Reason != "" {
			line += ": " + d.Reason
		}
		say("%s", line)
	}
	if good := e.lastGood(name); good != "" {
		say("last good release: %s", good)
	}
	return out, nil
}

// recentExits counts each instance's exits in the event journal lately.
func (e *Engine) recentExits(app string) map[string]int {
	evs, err := e.store.TailEvents(app, 500)
	out := map[string]int{}
	if err != nil {
		return out
	}
	since := time.Now().Add(-crashWindow)
	for _, ev := range evs {
		if ev.Kind != "instance.exited" || ev.Time.Before(since) {
			continue
		}
		if id, _, ok := strings.Cut(ev.Message, ":"); ok {
			out[id]++
		}
	}
	return out
}
