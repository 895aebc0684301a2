package main

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// killDaemons SIGKILLs the daemon n times and starts it again each time
// (the benchmark is its supervisor); the next kill waits for its API.
func killDaemons(ctx context.Context, b *berth, url string, n int, gap time.Duration) (run, error) {
	return underLoad("berth: daemon kill -9", "`kill -9` of the daemon, started again at once; the next kill waits for its API",
		url, n, gap, func(int) error {
			if err := b.daemon.Process.Kill(); err != nil {
				return err
			}
			<-b.waited
			return b.startDaemon(ctx)
		})
}

// upgrades runs berth upgrade n times, between two builds that differ in
// their version string.
func upgrades(ctx context.Context, b *berth, url string, bins [2]string, n int, gap time.Duration) (run, error) {
	return underLoad("berth: `berth upgrade`", "`berth upgrade` to the other of two builds: new front, old one drains, daemon re-execs",
		url, n, gap, func(i int) error {
			_, err := b.cli(ctx, "upgrade", bins[(i+1)%2])
			return err
		})
}

// killFronts SIGKILLs the front n times; the daemon starts a new one on
// the sockets it holds. The daemon spaces the restarts of a front that
// keeps dying (three at once, then 1 s doubling to 32 s); after every
// third kill the benchmark restarts the daemon (SIGTERM, start) so that
// each restart is measured at once rather than after a back-off.
func killFronts(ctx context.Context, b *berth, url string, n int, gap time.Duration) (run, error) {
	return underLoad("berth: front kill -9", "`kill -9` of the front (the data path); the daemon starts a new one on its duplicates of the sockets (daemon restarted after every 3rd kill: resets its crash-loop back-off)",
		url, n, gap, func(i int) error {
			pid := b.frontPID()
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				return fmt.Errorf("killing front %d: %w", pid, err)
			}
			if err := waitFor(15*time.Second, "a new front serves", func() bool {
				p := b.frontPID()
				return p != 0 && p != pid && alive(p)
			}); err != nil {
				return err
			}
			if i%3 != 2 {
				return nil
			}
			_ = b.daemon.Process.Signal(syscall.SIGTERM)
			<-b.waited
			return b.startDaemon(ctx)
		})
}
