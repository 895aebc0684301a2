package keeper

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/runtime"
)

func TestRestartPolicy(t *testing.T) {
	t.Parallel()
	c, dir := newKeeper(t)
	tests := []struct {
		name        string
		restart     string
		exit        string
		wantRestart bool
	}{
		{"never after failure", "never", "exit 1", false},
		{"on-failure after success", "on-failure", "exit 0", false},
		{"on-failure after failure", "on-failure", "exit 1", true},
		{"on-failure after signal", "on-failure", "kill -9 $$", true},
		{"always after success", "always", "exit 0", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := uniqueID(t, "rp")
			if _, err := c.Start(t.Context(), agent(dir, id, tc.restart, "sh", "-c", "sleep 0.1; "+tc.exit)); err != nil {
				t.Fatal(err)
			}
			if tc.wantRestart {
				waitStatus(t, c, id, "a restart", func(s runtime.Status) bool { return s.Restarts >= 1 })
				return
			}
			st := waitStatus(t, c, id, "exit", isState(runtime.StateExited))
			// Past the first backoff (1s): it must still be down.
			time.Sleep(2 * time.Second)
			st2, err := c.Status(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if st2.Restarts != 0 || st2.State != runtime.StateExited {
				t.Errorf("restarted against policy %s: %+v", tc.restart, st2)
			}
			if st.LastExit == "" {
				t.Errorf("no LastExit in %+v", st)
			}
		})
	}
}

func TestCrashloop(t *testing.T) {
	t.Parallel()
	c, dir := newKeeper(t)
	id := uniqueID(t, "cl")
	if _, err := c.Start(t.Context(), agent(dir, id, "on-failure", "sh", "-c", "echo boom >&2; exit 3")); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, c, id, "crashloop", isState(runtime.StateCrashloop))
	if st.Restarts != crashloopAfter-1 {
		t.Errorf("Restarts %d on entering crashloop, want %d", st.Restarts, crashloopAfter-1)
	}
	if wait := st.NextStartAt.Sub(st.LastExitAt); wait < backoffMax-time.Second {
		t.Errorf("next start %s after the exit, want the max backoff %s", wait, backoffMax)
	}
	if len(st.LastStderr) == 0 || st.LastStderr[len(st.LastStderr)-1] != "boom" || st.LastExit != "exit 3" {
		t.Errorf("crashloop status lacks the cause: %+v", st)
	}
	// It does not spin: no restart for a while.
	time.Sleep(2 * time.Second)
	st2, err := c.Status(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st2.Restarts != st.Restarts || st2.State != runtime.StateCrashloop {
		t.Errorf("restarted within the crashloop backoff: %+v", st2)
	}
	// Stop cancels the pending restart.
	t0 := time.Now()
	st3, err := c.Stop(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st3.State != runtime.StateStopped || time.Since(t0) > 10*time.Second {
		t.Errorf("Stop during crashloop: %+v after %s", st3, time.Since(t0))
	}
	evs, err := c.Events(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		if e.ID == id && e.Kind != EventExited {
			kinds = append(kinds, e.Kind)
		}
	}
	want := []string{EventStarted, EventBackoff, EventStarted, EventBackoff, EventStarted, EventCrashloop, EventStopped}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	fail := exitInfo{status: 1 << 8} // exit 1
	type step struct {
		Ran       time.Duration
		Delay     time.Duration
		Restart   bool
		Crashloop bool
	}
	tests := []struct {
		name   string
		policy string
		ex     exitInfo
		steps  []step // Ran is the input; the rest is what next must return
	}{
		{"doubles then crashloop", "always", fail, []step{
			{Ran: time.Second, Delay: time.Second, Restart: true},
			{Ran: time.Second, Delay: 2 * time.Second, Restart: true},
			{Ran: time.Second, Delay: backoffMax, Restart: true, Crashloop: true},
			{Ran: time.Second, Delay: backoffMax, Restart: true, Crashloop: true},
		}},
		{"long runs double up to the max", "on-failure", fail, []step{
			{Ran: 20 * time.Second, Delay: 1 * time.Second, Restart: true},
			{Ran: 20 * time.Second, Delay: 2 * time.Second, Restart: true},
			{Ran: 20 * time.Second, Delay: 4 * time.Second, Restart: true},
			{Ran: 20 * time.Second, Delay: 8 * time.Second, Restart: true},
			{Ran: 20 * time.Second, Delay: 16 * time.Second, Restart: true},
			{Ran: 20 * time.Second, Delay: 32 * time.Second, Restart: true},
			{Ran: 20 * time.Second, Delay: 32 * time.Second, Restart: true},
		}},
		{"a 30s run resets the delay", "always", fail, []step{
			{Ran: 20 * time.Second, Delay: 1 * time.Second, Restart: true},
			{Ran: 20 * time.Second, Delay: 2 * time.Second, Restart: true},
			{Ran: 31 * time.Second, Delay: 1 * time.Second, Restart: true},
		}},
		{"a 10s run ends a crash loop", "always", fail, []step{
			{Ran: 0, Delay: 1 * time.Second, Restart: true},
			{Ran: 0, Delay: 2 * time.Second, Restart: true},
			{Ran: 0, Delay: backoffMax, Restart: true, Crashloop: true},
			{Ran: 11 * time.Second, Delay: backoffMax, Restart: true},
		}},
		{"on-failure, clean exit", "on-failure", exitInfo{}, []step{{Ran: 0}}},
		{"never", "never", fail, []step{{Ran: 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b backoff
			var got []step
			for _, s := range tc.steps {
				d, r, c := b.next(tc.policy, tc.ex, s.Ran)
				got = append(got, step{Ran: s.Ran, Delay: d, Restart: r, Crashloop: c})
			}
			if diff := cmp.Diff(tc.steps, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
