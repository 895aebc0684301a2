package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/proxy/peers"
)

// mem is one process's memory in kB.
type mem struct{ rss, pss int64 }

func (a mem) add(b mem) mem { return mem{a.rss + b.rss, a.pss + b.pss} }

// readMem reads VmRSS from /proc/<pid>/status and Pss from smaps_rollup.
func readMem(pid int) (mem, error) {
	var m mem
	p := "/proc/" + strconv.Itoa(pid)
	var err error
	if m.rss, err = procField(p+"/status", "VmRSS:"); err != nil {
		return m, err
	}
	m.pss, err = procField(p+"/smaps_rollup", "Pss:")
	return m, err
}

func procField(path, key string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 2 && fs[0] == key {
			return strconv.ParseInt(fs[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in %s", key, path)
}

// memory is berth's own processes with the apps running.
type memory struct {
	agents                int
	daemon, front, keeper mem
}

// memoryWith deploys apps until n agents run (one each), then reads the
// memory of the daemon, the front and the keeper.
func memoryWith(ctx context.Context, b *berth, have, n int) (memory, error) {
	for i := have + 1; i <= n; i++ {
		addr, err := peers.FreePort()
		if err != nil {
			return memory{}, err
		}
		if err := b.deploy(ctx, fmt.Sprintf("m%02d", i), addr); err != nil {
			return memory{}, err
		}
	}
	time.Sleep(3 * time.Second) // settle: deploy goroutines end, GC runs
	m := memory{agents: n}
	for _, p := range []struct {
		pid int
		to  *mem
	}{{b.daemonPID(ctx), &m.daemon}, {b.frontPID(), &m.front}, {b.keeperPID(), &m.keeper}} {
		got, err := readMem(p.pid)
		if err != nil {
			return m, fmt.Errorf("reading the memory of pid %d: %w", p.pid, err)
		}
		*p.to = got
	}
	return m, nil
}

func mb(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }
