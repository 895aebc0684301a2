package main

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-dev/berth/bench/internal/procmem"
	"github.com/berth-dev/berth/bench/proxy/peers"
)

type mem = procmem.Mem

// memory is berth's own processes with the apps running.
type memory struct {
	agents                int
	daemon, front, keeper mem
	distinct              int64 // kB, the three's pages counted once; 0: not root
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
		got, err := procmem.Read(p.pid)
		if err != nil {
			return m, fmt.Errorf("reading the memory of pid %d: %w", p.pid, err)
		}
		*p.to = got
	}
	var err error
	m.distinct, _, err = procmem.Distinct(b.daemonPID(ctx), b.frontPID(), b.keeperPID())
	return m, err
}

func mb(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }
