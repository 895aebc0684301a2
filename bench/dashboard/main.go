// Command dashboard measures berth's web dashboard against a real daemon
// with 20 apps of berth's sample agent: the weight of each page, the time
// to first render in headless Chromium, and the daemon's CPU with 5 open
// dashboards against the same daemon with none (the baseline, measured in
// the same run). With -shots DIR it also writes screenshots of each page at
// desktop and phone (375 px) width.
//
//	go run ./bench/dashboard [-apps 20] [-tabs 5] [-window 30s] [-shots docs/dashboard]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"
)

type opts struct {
	apps, tabs, renders int
	window              time.Duration
	shots               string
}

func main() {
	var o opts
	flag.IntVar(&o.apps, "apps", 20, "apps to deploy")
	flag.IntVar(&o.tabs, "tabs", 5, "open dashboards during the CPU window")
	flag.IntVar(&o.renders, "renders", 7, "page loads per first-render median")
	flag.DurationVar(&o.window, "window", 30*time.Second, "each CPU measuring window")
	flag.StringVar(&o.shots, "shots", "", "write screenshots of every page into this directory")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/dashboard:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o opts) error {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		return fmt.Errorf("chromium is not installed: apt-get install -y chromium")
	}
	dir, err := os.MkdirTemp("", "bdash-bin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	w, err := newWorld(ctx, dir, o.apps)
	if err != nil {
		return err
	}
	defer w.close()
	fmt.Fprintf(os.Stderr, "deployed %d apps; daemon pid %d, dashboard %s\n", o.apps, w.daemonPID(), w.base)
	stopLoad := w.load(ctx)
	defer stopLoad()

	b, err := newBrowser(chromium)
	if err != nil {
		return err
	}
	defer b.close()
	if err := b.login(w.loginURL(ctx)); err != nil {
		return fmt.Errorf("logging in: %w", err)
	}
	weights, err := w.weights(ctx)
	if err != nil {
		return fmt.Errorf("weighing pages: %w", err)
	}
	renders, err := b.firstRenders(w.base+"/", o.renders)
	if err != nil {
		return err
	}
	cpu, err := measureCPU(ctx, w, b, o)
	if err != nil {
		return fmt.Errorf("measuring CPU: %w", err)
	}
	if o.shots != "" {
		if err := w.rolledBack(ctx); err != nil {
			return err
		}
		if err := b.screenshots(w.base, o.shots); err != nil {
			return err
		}
	}
	report(o, weights, renders, cpu)
	return nil
}
