// Command container compares containers with processes as berth's runtime
// on this machine: the time of a blue-green deploy (image present) of the
// same sample agent as a docker container and as a process, and the
// latency berth's proxy adds in front of each (against the agent reached
// directly, the baseline measured in the same run). It builds berth and a
// FROM scratch image of the agent, starts a dockerd and a berth daemon of
// its own in temporary directories, prints one table and stops everything
// it started by PID. Run it from the repository root:
//
//	go run ./bench/container            # about 2 minutes
//	go run ./bench/container -n 3 -requests 1000
//
// Traffic goes to loopback only.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

type opts struct {
	deploys, requests int
	verbose           bool
}

func main() {
	o := opts{}
	flag.IntVar(&o.deploys, "n", 6, "blue-green deploys timed per runtime")
	flag.IntVar(&o.requests, "requests", 3000, "sequential keep-alive requests per latency run")
	flag.BoolVar(&o.verbose, "v", false, "print every deploy's output on stderr")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/container:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o opts) error {
	start := time.Now()
	b, err := setup(ctx, o.verbose)
	if err != nil {
		return err
	}
	defer b.close()
	var rows []row
	for _, rt := range []string{"embedded", "docker"} {
		r, err := b.measure(ctx, rt, o)
		if err != nil {
			return fmt.Errorf("%s: %w", rt, err)
		}
		rows = append(rows, r...)
	}
	fmt.Printf("Measured %s on %d CPUs (%s/%s), in %s. Compare ratios within one run.\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Since(start).Round(time.Second))
	printTable(os.Stdout, rows)
	return nil
}
