package keeper

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// target names every process of one run of an instance: its process group
// (members started no earlier than the leader, so a reused pgid is not
// mistaken for ours) and its cgroup, which also holds processes that left
// the group with setsid.
type target struct {
	pgid     int      // 0: no process group to act on
	minStart uint64   // start time of the group leader
	cgroup   string   // "" without cgroups
	lin      *lineage // nil with a cgroup (or nothing known, after recovery)
}

// pollEvery is how often a stop checks whether processes are gone.
const pollEvery = 25 * time.Millisecond

// killGiveUp bounds the wait after SIGKILL: only a process stuck in the
// kernel (D state) outlives it, and a stop must return some day.
const killGiveUp = 30 * time.Second

func (t target) members() []int {
	var pids []int
	switch {
	case t.lin != nil:
		pids = t.lin.sweep(scanProcs(), t.pgid, t.minStart)
	case t.pgid > 0:
		pids = groupMembers(t.pgid, t.minStart)
	}
	return append(pids, cgroupProcs(t.cgroup)...)
}

func (t target) signal(sig syscall.Signal) {
	if t.pgid > 0 {
		// ESRCH: the group is gone. EPERM: a member changed user; the
		// cgroup, when there is one, still reaches it.
		unix.Kill(-t.pgid, sig)
	}
	if sig == syscall.SIGKILL {
		cgroupKill(t.cgroup)
	} else {
		cgroupSignal(t.cgroup, sig)
	}
	if t.lin != nil {
		t.lin.signalKnown(sig)
	}
}

// waitGone polls until no process of t is left or d passed.
func (t target) waitGone(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if len(t.members()) == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pollEvery)
	}
}

// terminate stops every process of t: SIGTERM, up to grace for them to go,
// then SIGKILL, and waits until none is left, grandchildren included. It
// reports whether everything is gone.
func (t target) terminate(grace time.Duration) bool {
	if len(t.members()) == 0 {
		return true
	}
	t.signal(syscall.SIGTERM)
	// A stopped process (SIGSTOP, or a job-control stop) keeps SIGTERM
	// pending until it runs again; SIGCONT lets it act on it now, as
	// systemd does, instead of only ever meeting SIGKILL.
	t.signal(syscall.SIGCONT)
	if t.waitGone(grace) {
		return true
	}
	deadline := time.Now().Add(killGiveUp)
	for time.Now().Before(deadline) {
		// Repeated: a fork racing the first SIGKILL can leave a new member.
		t.signal(syscall.SIGKILL)
		if t.waitGone(time.Second) {
			return true
		}
	}
	return false
}
