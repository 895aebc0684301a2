package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchd"
	"github.com/berth-dev/berth/internal/runtime"
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

// memRun is part 4's measurements.
type memRun struct {
	apps                            int
	idleDaemon, idleKeep, idleFront mem // no app yet: the baseline
	daemon, keeper, front           mem // with the apps running
	agents                          []mem
}

// berth is the daemon, keeper and front together.
func (r memRun) berth() mem { return r.daemon.add(r.keeper).add(r.front) }

func (r memRun) idleBerth() mem { return r.idleDaemon.add(r.idleKeep).add(r.idleFront) }

// memoryWithApps deploys n HTTP apps (the sample agent) under d, sends a
// few requests through each proxy, lets things settle and reads memory.
func memoryWithApps(ctx context.Context, d *daemon, n int) (memRun, error) {
	r := memRun{apps: n}
	kpid, fpid := d.KeeperPID(), d.FrontPID()
	var err error
	if r.idleDaemon, err = readMem(d.PID()); err != nil {
		return r, err
	}
	if kpid > 0 {
		if r.idleKeep, err = readMem(kpid); err != nil {
			return r, err
		}
	}
	if fpid > 0 {
		if r.idleFront, err = readMem(fpid); err != nil {
			return r, err
		}
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
	if r.daemon, err = readMem(d.PID()); err != nil {
		return r, err
	}
	if r.keeper, err = readMem(kpid); err != nil {
		return r, fmt.Errorf("keeper %d: %w", kpid, err)
	}
	if fpid = d.FrontPID(); fpid == 0 {
		return r, fmt.Errorf("no front pid file")
	}
	if r.front, err = readMem(fpid); err != nil {
		return r, fmt.Errorf("front %d: %w", fpid, err)
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
			if m, err := readMem(in.PID); err == nil {
				r.agents = append(r.agents, m)
			}
		}
	}
	return r, nil
}

func memoryTable(r memRun) string {
	t := &table{head: []string{"processes", "RSS", "PSS"}}
	idle, total := r.idleBerth(), r.berth()
	t.row("daemon, no app (baseline)", mb(r.idleDaemon.rss), mb(r.idleDaemon.pss))
	t.row("keeper, no app (baseline)", mb(r.idleKeep.rss), mb(r.idleKeep.pss))
	t.row("front, no app (baseline)", mb(r.idleFront.rss), mb(r.idleFront.pss))
	t.row("**daemon + keeper + front, no app**", mb(idle.rss), mb(idle.pss))
	t.row(fmt.Sprintf("daemon, %d apps", r.apps), mb(r.daemon.rss), mb(r.daemon.pss))
	t.row(fmt.Sprintf("keeper, %d apps", r.apps), mb(r.keeper.rss), mb(r.keeper.pss))
	t.row(fmt.Sprintf("front, %d apps", r.apps), mb(r.front.rss), mb(r.front.pss))
	t.row(fmt.Sprintf("**daemon + keeper + front, %d apps**", r.apps), mb(total.rss), mb(total.pss))
	t.row("growth per app (all three)", fmt.Sprintf("%.0f kB", float64(total.rss-idle.rss)/float64(r.apps)),
		fmt.Sprintf("%.0f kB", float64(total.pss-idle.pss)/float64(r.apps)))
	var sum mem
	var rss, pss []time.Duration // reuse quantile on kB counts
	for _, a := range r.agents {
		sum = sum.add(a)
		rss, pss = append(rss, time.Duration(a.rss)), append(pss, time.Duration(a.pss))
	}
	t.row(fmt.Sprintf("one agent, median of %d (not berth's)", len(r.agents)),
		mb(int64(quantile(rss, 0.5))), mb(int64(quantile(pss, 0.5))))
	t.row(fmt.Sprintf("all %d agents (not berth's)", len(r.agents)), mb(sum.rss), mb(sum.pss))
	return t.String() + fmt.Sprintf("\n%d HTTP apps, each berth's sample agent (a Go HTTP server) behind its own proxy "+
		"listener in the front, deployed blue-green one after the other, 20 requests through each proxy, then 3 s to settle. "+
		"RSS is VmRSS from /proc/<pid>/status; PSS is Pss from /proc/<pid>/smaps_rollup (pages shared with "+
		"other processes, such as the same berth binary mapped by the daemon, the keeper and the agents, are "+
		"divided among them). The agents run the berth binary too, so the PSS of berth's own processes is lower "+
		"than it would be next to agents of another binary.\n", r.apps)
}
