package keeper

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// lineage finds the processes of one run when it has no cgroup, including
// those that left its process group with setsid. A process belongs to the
// run when it is in the run's group, was seen as a member before (same pid
// and start time), is a child of a member, or is an orphan reparented to
// the keeper (its subreaper) that still holds one of the run's output pipes.
// The keeper sweeps /proc every trackEvery so that a double-forked daemon
// is usually seen while its parent still links it to the run; one that
// forks, detaches, closes its stdio and loses its parent between two sweeps
// cannot be told apart without a cgroup (docs/keeper-protocol.md). Safe for
// concurrent use.
type lineage struct {
	keeperPID int
	pipes     map[uint64]bool // inode numbers of the run's stdout and stderr pipes
	// adopted: the run was started by a keeper that died, so its orphans
	// went to init, not to this keeper; they are looked for there too.
	adopted bool

	mu    sync.Mutex
	known map[int]uint64 // pid -> start time of members seen so far
}

// trackEvery is how often the keeper sweeps /proc for the lineages of
// running instances when cgroups are off.
const trackEvery = time.Second

// newLineage starts the lineage of a run whose output goes to pipes.
func newLineage(pipes ...*os.File) *lineage {
	l := &lineage{keeperPID: os.Getpid(), pipes: map[uint64]bool{}, known: map[int]uint64{}}
	for _, p := range pipes {
		if ino := pipeInode(p); ino != 0 {
			l.pipes[ino] = true // not p.Fd(): it would make the pipe blocking
		}
	}
	return l
}

// proc is one process of a /proc scan.
type proc struct {
	pid int
	procStat
}

// scanProcs reads the stat of every process.
func scanProcs() []proc {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	out := make([]proc, 0, len(names))
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if st, err := readProcStat(pid); err == nil {
			out = append(out, proc{pid, st})
		}
	}
	return out
}

// sweep returns the live members of the run of group pgid (leader start
// time minStart) among procs, and remembers them.
func (l *lineage) sweep(procs []proc, pgid int, minStart uint64) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	kids := map[int][]proc{}
	in := map[int]bool{}
	var queue []proc
	for _, p := range procs {
		kids[p.ppid] = append(kids[p.ppid], p)
		if l.seed(p, pgid, minStart) {
			in[p.pid] = true
			queue = append(queue, p)
		}
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range kids[p.pid] {
			if !in[c.pid] {
				in[c.pid] = true
				queue = append(queue, c)
			}
		}
	}
	known := make(map[int]uint64, len(in))
	var live []int
	for _, p := range procs {
		if !in[p.pid] {
			continue
		}
		known[p.pid] = p.startTime
		if p.state != 'Z' {
			live = append(live, p.pid)
		}
	}
	l.known = known
	return live
}

func (l *lineage) seed(p proc, pgid int, minStart uint64) bool {
	switch {
	case pgid > 0 && p.pid == pgid && p.startTime == minStart:
		return true // the leader, even if it moved to another group
	case pgid > 0 && p.pgrp == pgid && p.startTime >= minStart:
		return true
	case l.known[p.pid] == p.startTime && p.startTime != 0:
		return true
	case (p.ppid == l.keeperPID || l.adopted && p.ppid == 1) && p.pid != pgid:
		return l.holdsPipe(p.pid)
	}
	return false
}

// holdsPipe reports whether pid has one of the run's output pipes open.
func (l *lineage) holdsPipe(pid int) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	d, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	for _, n := range names {
		link, err := os.Readlink(dir + "/" + n)
		if err != nil {
			continue
		}
		if s, ok := strings.CutPrefix(link, "pipe:["); ok {
			ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64)
			if err == nil && l.pipes[ino] {
				return true
			}
		}
	}
	return false
}

// signalKnown sends sig to the members of the last sweep, each through a
// pidfd checked against its start time, so a reused pid is never hit.
func (l *lineage) signalKnown(sig syscall.Signal) {
	l.mu.Lock()
	known := make(map[int]uint64, len(l.known))
	for pid, st := range l.known {
		known[pid] = st
	}
	l.mu.Unlock()
	for pid, start := range known {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue
		}
		if startTimeOf(pid) == start {
			unix.PidfdSendSignal(fd, sig, nil, 0)
		}
		unix.Close(fd)
	}
}

// trackLineages sweeps /proc every trackEvery for the running instances
// that have a lineage, until ctx is done.
func (k *keeper) trackLineages(ctx context.Context) {
	tick := time.NewTicker(trackEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var ts []target
		k.mu.Lock()
		for _, in := range k.instances {
			in.mu.Lock()
			if t := in.targetLocked(); t.lin != nil {
				ts = append(ts, t)
			}
			in.mu.Unlock()
		}
		k.mu.Unlock()
		if len(ts) == 0 {
			continue
		}
		procs := scanProcs()
		for _, t := range ts {
			t.lin.sweep(procs, t.pgid, t.minStart)
		}
	}
}
