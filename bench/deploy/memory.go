package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchd"
	"github.com/berth-dev/berth/bench/internal/procmem"
	"github.com/berth-dev/berth/internal/runtime"
)

// memRun is part 4's measurements.
type memRun struct {
	apps                            int
	idleDaemon, idleKeep, idleFront mem // no app yet: the baseline
	daemon, keeper, front           mem // with the apps running
	agents                          []mem
	// The distinct physical pages of the three, in kB (0 when the
	// kernel hides frame numbers: not root).
	idleDistinct, distinct int64
}

type mem = procmem.Mem

// berth is the daemon, keeper and front together.
func (r memRun) berth() mem { return r.daemon.Add(r.keeper).Add(r.front) }

func (r memRun) idleBerth() mem { return r.idleDaemon.Add(r.idleKeep).Add(r.idleFront) }

// memoryWithApps deploys n HTTP apps (the sample agent) under d, sends a
// few requests through each proxy, lets things settle and reads memory.
func memoryWithApps(ctx context.Context, d *daemon, n int) (memRun, error) {
	r := memRun{apps: n}
	kpid, fpid := d.KeeperPID(), d.FrontPID()
	var err error
	if r.idleDaemon, err = procmem.Read(d.PID()); err != nil {
		return r, err
	}
	if kpid > 0 {
		if r.idleKeep, err = procmem.Read(kpid); err != nil {
			return r, err
		}
	}
	if fpid > 0 {
		if r.idleFront, err = procmem.Read(fpid); err != nil {
			return r, err
		}
	}
	if r.idleDistinct, _, err = procmem.Distinct(d.PID(), kpid, fpid); err != nil {
		return r, err
	}
	c := &http.Client{Timeout: 2 * time.Second}
	for i := 1; i <= n; i++ {
		addr, err := benchd.FreeAddr()
		if err != nil {
			return r, err
		}
		s := appSpec{name: fmt.Sprintf("m%02d", i), version: "v1", strategy: "bluegreen", listen: addr,
			healthyAfter: 1, verifyFor: "0s", interval: "100ms"}
		if _, err := d.deploy(ctx, s); err != nil {
			return r, fmt.Errorf("deploying %s: %w", s.name, err)
		}
		for k := 0; k < 20; k++ {
			if resp, err := c.Get("http://" + addr + "/"); err == nil {
				resp.Body.Close()
			}
		}
	}
	time.Sleep(3 * time.Second) // settle: deploy goroutines end, GC runs
	if kpid == 0 {
		kpid = d.KeeperPID()
	}
	if r.daemon, err = procmem.Read(d.PID()); err != nil {
		return r, err
	}
	if r.keeper, err = procmem.Read(kpid); err != nil {
		return r, fmt.Errorf("keeper %d: %w", kpid, err)
	}
	if fpid = d.FrontPID(); fpid == 0 {
		return r, fmt.Errorf("no front pid file")
	}
	if r.front, err = procmem.Read(fpid); err != nil {
		return r, fmt.Errorf("front %d: %w", fpid, err)
	}
	if r.distinct, _, err = procmem.Distinct(d.PID(), kpid, fpid); err != nil {
		return r, err
	}
	apps, err := d.Client.Status(ctx, "")
	if err != nil {
		return r, err
	}
	for _, a := range apps {
		for _, in := range a.Instances {
			if in.State != runtime.StateRunning || in.PID == 0 {
				continue
			}
			if m, err := procmem.Read(in.PID); err == nil {
				r.agents = append(r.agents, m)
			}
		}
	}
	return r, nil
}

func memoryTable(r memRun) string {
	t := &table{head: []string{"processes", "RSS", "PSS"}}
	dist := func(kb int64) string {
		if kb == 0 {
			return "(distinct: needs root)"
		}
		return mb(kb) + " distinct"
	}
	idle, total := r.idleBerth(), r.berth()
	t.row("daemon, no app (baseline)", mb(r.idleDaemon.RSS), mb(r.idleDaemon.PSS))
	t.row("keeper, no app (baseline)", mb(r.idleKeep.RSS), mb(r.idleKeep.PSS))
	t.row("front, no app (baseline)", mb(r.idleFront.RSS), mb(r.idleFront.PSS))
	t.row("**daemon + keeper + front, no app**", mb(idle.RSS), mb(idle.PSS))
	t.row("daemon + keeper + front, no app, pages counted once", dist(r.idleDistinct), "")
	t.row(fmt.Sprintf("daemon, %d apps", r.apps), mb(r.daemon.RSS), mb(r.daemon.PSS))
	t.row(fmt.Sprintf("keeper, %d apps", r.apps), mb(r.keeper.RSS), mb(r.keeper.PSS))
	t.row(fmt.Sprintf("front, %d apps", r.apps), mb(r.front.RSS), mb(r.front.PSS))
	t.row(fmt.Sprintf("**daemon + keeper + front, %d apps**", r.apps), mb(total.RSS), mb(total.PSS))
	t.row(fmt.Sprintf("daemon + keeper + front, %d apps, pages counted once", r.apps), dist(r.distinct), "")
	t.row("growth per app (all three)", fmt.Sprintf("%.0f kB", float64(total.RSS-idle.RSS)/float64(r.apps)),
		fmt.Sprintf("%.0f kB", float64(total.PSS-idle.PSS)/float64(r.apps)))
	var sum mem
	var rss, pss []time.Duration // reuse quantile on kB counts
	for _, a := range r.agents {
		sum = sum.Add(a)
		rss, pss = append(rss, time.Duration(a.RSS)), append(pss, time.Duration(a.PSS))
	}
	t.row(fmt.Sprintf("one agent, median of %d (not berth's)", len(r.agents)),
		mb(int64(quantile(rss, 0.5))), mb(int64(quantile(pss, 0.5))))
	t.row(fmt.Sprintf("all %d agents (not berth's)", len(r.agents)), mb(sum.RSS), mb(sum.PSS))
	return t.String() + fmt.Sprintf("\n%d HTTP apps, each berth's sample agent (a Go HTTP server) behind its own proxy "+
		"listener in the front, deployed blue-green one after the other, 20 requests through each proxy, then 3 s to settle. "+
		"RSS is VmRSS from /proc/<pid>/status; PSS is Pss from /proc/<pid>/smaps_rollup (pages shared with "+
		"other processes, such as the same berth binary mapped by the daemon, the keeper and the agents, are "+
		"divided among them). The agents run the berth binary too, so the PSS of berth's own processes is lower "+
		"than it would be next to agents of another binary. Pages counted once: the resident pages that any of "+
		"the three maps, each physical page once (from the frame numbers in /proc/<pid>/pagemap): what the machine "+
		"spends on berth; summed RSS counts the binary's shared pages once per process.\n", r.apps)
}
