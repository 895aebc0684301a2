package keeper

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/runtime"
)

func TestStartStopStatus(t *testing.T) {
	t.Parallel()
	c, dir := newKeeper(t)
	ctx := t.Context()
	id := uniqueID(t, "rt")
	st, err := c.Start(ctx, agent(dir, id, "always", "sleep", "1000"))
	if err != nil {
		t.Fatal(err)
	}
	if st.State != runtime.StateRunning || st.PID == 0 || !alive(st.PID) {
		t.Fatalf("after Start: %+v", st)
	}
	pid := st.PID

	errCases := []struct {
		name string
		call func() error
		want error
	}{
		{"start twice", func() error { _, err := c.Start(ctx, agent(dir, id, "always", "sleep", "1000")); return err }, runtime.ErrRunning},
		{"remove running", func() error { return c.Remove(ctx, id) }, runtime.ErrRunning},
		{"status unknown", func() error { _, err := c.Status(ctx, "nope"); return err }, runtime.ErrNotFound},
		{"stop unknown", func() error { _, err := c.Stop(ctx, "nope"); return err }, runtime.ErrNotFound},
		{"bad id", func() error { _, err := c.Start(ctx, agent(dir, "../x", "always", "true")); return err }, ErrBadRequest},
		{"bad restart", func() error { _, err := c.Start(ctx, agent(dir, "x", "sometimes", "true")); return err }, ErrBadRequest},
		{"missing exe", func() error { _, err := c.Start(ctx, agent(dir, "x", "never", "no-such-exe")); return err }, ErrSpawn},
	}
	for _, tc := range errCases {
		if err := tc.call(); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}

	list, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	if diff := cmp.Diff([]string{id, "x"}, ids); diff != "" {
		t.Errorf("List ids (-want +got):\n%s", diff)
	}

	st, err = c.Restart(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != runtime.StateRunning || st.PID == pid || alive(pid) {
		t.Fatalf("after Restart: %+v; old pid %d alive: %v", st, pid, alive(pid))
	}
	pid = st.PID

	st, err = c.Stop(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != runtime.StateStopped || st.PID != 0 {
		t.Errorf("after Stop: %+v", st)
	}
	if alive(pid) {
		t.Errorf("pid %d still alive after Stop", pid)
	}
	if _, err := c.Stop(ctx, id); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if err := c.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Status(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Status after Remove: %v, want ErrNotFound", err)
	}

	evs, err := c.Events(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		if e.ID == id {
			kinds = append(kinds, e.Kind)
		}
	}
	if diff := cmp.Diff([]string{EventStarted, EventStopped, EventStarted, EventStopped, EventRemoved}, kinds); diff != "" {
		t.Errorf("events of %s (-want +got):\n%s", id, diff)
	}
}

func TestEventsLongPoll(t *testing.T) {
	t.Parallel()
	c, dir := newKeeper(t)
	ctx := t.Context()
	// An event first, so that the poll from 0 returns at once.
	if _, err := c.Start(ctx, agent(dir, uniqueID(t, "ev0"), "never", "sleep", "1000")); err != nil {
		t.Fatal(err)
	}
	evs, err := c.Events(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for _, e := range evs {
		last = e.Seq
	}
	got := make(chan []Event, 1)
	go func() {
		evs, _ := c.Events(ctx, last)
		got <- evs
	}()
	id := uniqueID(t, "ev")
	time.Sleep(200 * time.Millisecond) // let the poll start waiting
	st, err := c.Start(ctx, agent(dir, id, "never", "sleep", "1000"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case evs := <-got:
		if len(evs) == 0 || evs[0].Kind != EventStarted || evs[0].PID != st.PID || evs[0].Seq <= last {
			t.Errorf("long poll returned %+v, want started pid %d after seq %d", evs, st.PID, last)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("long poll did not return on a new event")
	}
}

func TestOutputLogged(t *testing.T) {
	t.Parallel()
	c, dir := newKeeper(t)
	id := uniqueID(t, "log")
	in := agent(dir, id, "never", "sh", "-c", "echo out1; echo err1 >&2; echo out2; echo err2 >&2")
	if _, err := c.Start(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, c, id, "exit and 4 log lines", func(s runtime.Status) bool {
		return s.State == runtime.StateExited && s.LogLines == 4
	})
	if diff := cmp.Diff([]string{"err1", "err2"}, st.LastStderr); diff != "" {
		t.Errorf("LastStderr (-want +got):\n%s", diff)
	}
	if st.LastExit != "exit 0" {
		t.Errorf("LastExit %q, want exit 0", st.LastExit)
	}
	got := readLog(t, in.LogPath)
	// The two pipes are copied independently: only order within a stream holds.
	var out, errs []string
	for _, l := range got {
		if s, ok := strings.CutPrefix(l, "out "); ok {
			out = append(out, s)
		} else if s, ok := strings.CutPrefix(l, "err "); ok {
			errs = append(errs, s)
		} else {
			t.Errorf("untagged log line %q", l)
		}
	}
	if diff := cmp.Diff([]string{"out1", "out2"}, out); diff != "" {
		t.Errorf("stdout lines (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"err1", "err2"}, errs); diff != "" {
		t.Errorf("stderr lines (-want +got):\n%s", diff)
	}
}

func TestSpawnArgvDirEnv(t *testing.T) {
	t.Parallel()
	c, dir := newKeeper(t)
	script := filepath.Join(dir, "bin", "hello")
	os.MkdirAll(filepath.Dir(script), 0o755)
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"hello $1 in $(pwd)\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		argv []string
		env  []string
		want []string
	}{
		{"env exactly as given", []string{"env"}, []string{"PATH=/usr/bin:/bin", "FOO=bar"}, []string{"out PATH=/usr/bin:/bin", "out FOO=bar"}},
		{"relative argv0 against Dir", []string{"./bin/hello", "a"}, []string{}, []string{"out hello a in " + dir}},
		{"bare name in the instance PATH", []string{"hello", "b"}, []string{"PATH=bin:/bin"}, []string{"out hello b in " + dir}},
	}
	for i, tc := range tests {
		id := uniqueID(t, "sp"+strconv.Itoa(i))
		in := agent(dir, id, "never", tc.argv...)
		in.Env = tc.env
		if _, err := c.Start(t.Context(), in); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		waitStatus(t, c, id, "exit", func(s runtime.Status) bool {
			return s.State == runtime.StateExited && s.LogLines == uint64(len(tc.want))
		})
		if diff := cmp.Diff(tc.want, readLog(t, in.LogPath)); diff != "" {
			t.Errorf("%s: log (-want +got):\n%s", tc.name, diff)
		}
	}
}

// children lists the children of pid.
func children(pid int) []int {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
	var out []int
	for _, f := range strings.Fields(string(b)) {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

func TestStopTreeIgnoringTerm(t *testing.T) {
	t.Parallel()
	c, dir := newKeeper(t)
	id := uniqueID(t, "tree")
	in := agent(dir, id, "always", "sh", "-c", `trap "" TERM; sleep 1000 & sleep 1000 & wait`)
	in.StopTimeout = 500 * time.Millisecond
	st, err := c.Start(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	var kids []int
	if !waitUntil(10*time.Second, func() bool { kids = children(st.PID); return len(kids) == 2 }) {
		t.Fatalf("agent %d has children %v, want 2 sleeps", st.PID, kids)
	}
	pids := append([]int{st.PID}, kids...)
	t0 := time.Now()
	if _, err := c.Stop(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took < in.StopTimeout {
		t.Errorf("Stop took %s, less than the stop timeout: SIGTERM was not ignored?", took)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d alive after Stop", pid)
		}
	}
	// The keeper is their subreaper: even the zombies go.
	for _, pid := range pids {
		if !waitUntil(10*time.Second, func() bool { return syscall.Kill(pid, 0) != nil }) {
			t.Errorf("pid %d still exists (zombie?)", pid)
		}
	}
}

func TestSpawnAsUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("the keeper switches user only when it runs as root")
	}
	c, dir := newKeeper(t)
	os.Chmod(dir, 0o755) // let the agent's user into its Dir
	id := uniqueID(t, "usr")
	in := agent(dir, id, "never", "id")
	in.User, in.UID, in.GID = "nobody", 65534, 65534
	if _, err := c.Start(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, id, "exit", func(s runtime.Status) bool { return s.State == runtime.StateExited && s.LogLines == 1 })
	got := readLog(t, in.LogPath)
	// No supplementary groups: groups= lists the primary group only.
	want := []string{"out uid=65534 gid=65534 groups=65534"}
	for i := range got {
		got[i] = stripNames(got[i])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("id output (-want +got):\n%s", diff)
	}
}

// stripNames turns "uid=65534(nobody)" into "uid=65534": names differ by distro.
func stripNames(s string) string {
	var b strings.Builder
	skip := false
	for _, r := range s {
		switch {
		case r == '(':
			skip = true
		case r == ')':
			skip = false
		case !skip:
			b.WriteRune(r)
		}
	}
	return b.String()
}
