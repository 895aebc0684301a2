package keeper

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// procStat is what the keeper needs from /proc/<pid>/stat.
type procStat struct {
	state     byte   // field 3: R, S, D, Z, ...
	ppid      int    // field 4
	pgrp      int    // field 5
	startTime uint64 // field 22, clock ticks since boot: tells a reused pid apart
}

// readProcStat parses /proc/<pid>/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from its last ')'.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, fmt.Errorf("reading stat of pid %d: %w", pid, err)
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procStat{}, fmt.Errorf("parsing stat of pid %d: no command field", pid)
	}
	f := bytes.Fields(b[i+2:]) // f[0] is field 3
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("parsing stat of pid %d: %d fields", pid, len(f)+2)
	}
	ppid, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return procStat{}, fmt.Errorf("parsing ppid of pid %d: %w", pid, err)
	}
	pgrp, err := strconv.Atoi(string(f[2]))
	if err != nil {
		return procStat{}, fmt.Errorf("parsing pgrp of pid %d: %w", pid, err)
	}
	st, err := strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("parsing start time of pid %d: %w", pid, err)
	}
	return procStat{state: f[0][0], ppid: ppid, pgrp: pgrp, startTime: st}, nil
}

// startTimeOf returns the start time of pid, or 0 when it cannot be read.
func startTimeOf(pid int) uint64 {
	st, err := readProcStat(pid)
	if err != nil {
		return 0
	}
	return st.startTime
}

// groupMembers lists the live (non-zombie) processes of process group pgid
// started no earlier than minStart. A zombie is dead already; counting it
// would make a stop wait on whoever reaps it.
func groupMembers(pgid int, minStart uint64) []int {
	// Cheap answer first: ESRCH means no process at all is in the group.
	if err := unix.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return nil
	}
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	var pids []int
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil || st.pgrp != pgid || st.state == 'Z' || st.startTime < minStart {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	st, err := readProcStat(pid)
	return err == nil && st.state != 'Z'
}
