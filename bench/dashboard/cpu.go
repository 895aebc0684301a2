package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of utime and stime in /proc/PID/stat (USER_HZ, 100 on
// Linux).
const userHZ = 100

// cpuTime reads the CPU time pid has used.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name (in parentheses, may hold spaces).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / userHZ, nil
}

// cpuRow is the daemon's CPU over one window.
type cpuRow struct {
	what string
	pct  float64 // of one core
}

// window measures the daemon's CPU share over d.
func window(ctx context.Context, pid int, d time.Duration) (float64, error) {
	c0, err := cpuTime(pid)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(d):
	}
	c1, err := cpuTime(pid)
	if err != nil {
		return 0, err
	}
	return 100 * float64(c1-c0) / float64(time.Since(t0)), nil
}

// measureCPU: no dashboard open (the baseline), then o.tabs on the
// overview, then o.tabs on as many different app pages.
func measureCPU(ctx context.Context, w *world, b *browser, o opts) ([]cpuRow, error) {
	pid := w.daemonPID()
	var rows []cpuRow
	pct, err := window(ctx, pid, o.window)
	if err != nil {
		return nil, err
	}
	rows = append(rows, cpuRow{"no dashboard open (baseline)", pct})
	for _, set := range []struct {
		what  string
		paths func(i int) string
	}{
		{fmt.Sprintf("%d dashboards on the overview", o.tabs), func(int) string { return "/" }},
		{fmt.Sprintf("%d dashboards on %d different app pages", o.tabs, o.tabs), func(i int) string { return fmt.Sprintf("/apps/app%02d", i%o.apps+1) }},
	} {
		var closers []func()
		for i := range o.tabs {
			c, err := b.tab(w.base + set.paths(i))
			if err != nil {
				return nil, fmt.Errorf("opening tab %d on %s: %w", i+1, set.paths(i), err)
			}
			closers = append(closers, c)
		}
		pct, err := window(ctx, pid, o.window)
		for _, c := range closers {
			c()
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, cpuRow{set.what, pct})
	}
	return rows, nil
}

func report(o opts, ws []weight, renders []time.Duration, cpu []cpuRow) {
	fmt.Printf("\n%d apps of the sample agent, each with a few requests per second; %s windows; 2 CPUs, %s.\n\n", o.apps, o.window, time.Now().UTC().Format("2006-01-02"))
	fmt.Println("| page | HTML bytes | with CSS and JS | served in (median of 5) |")
	fmt.Println("| --- | ---: | ---: | ---: |")
	for _, w := range ws {
		fmt.Printf("| `%s` | %d | %d | %s |\n", w.page, w.html, w.html+w.rest, w.served.Round(100*time.Microsecond))
	}
	fmt.Printf("\nFirst contentful paint of the overview in headless Chromium, %d fresh tabs: median %s (min %s, max %s).\n\n",
		len(renders), renders[len(renders)/2].Round(time.Millisecond), renders[0].Round(time.Millisecond), renders[len(renders)-1].Round(time.Millisecond))
	fmt.Println("| daemon CPU | % of one core | vs baseline |")
	fmt.Println("| --- | ---: | ---: |")
	for _, r := range cpu {
		fmt.Printf("| %s | %.1f | %+.1f |\n", r.what, r.pct, r.pct-cpu[0].pct)
	}
}
