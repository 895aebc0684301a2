package main

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// killDaemons SIGKILLs the daemon n times; the front restarts it (no
// outside supervisor) and the next kill waits until it answers again.
func killDaemons(ctx context.Context, b *berth, url string, n int, gap time.Duration) (run, error) {
	return underLoad("berth: daemon kill -9", "`kill -9` of the daemon; the front restarts it, the next kill waits for its API",
		url, n, gap, func(int) error {
			pid := b.daemonPID(ctx)
			if pid == 0 {
				return fmt.Errorf("the daemon does not answer")
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				return err
			}
			return waitFor(15*time.Second, "a restarted daemon answers", func() bool {
				p := b.daemonPID(ctx)
				return p != 0 && p != pid
			})
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
// the sockets it holds.
func killFronts(ctx context.Context, b *berth, url string, n int, gap time.Duration) (run, error) {
	return underLoad("berth: front kill -9", "`kill -9` of the front (the data path); the daemon starts a new one on its duplicates of the sockets",
		url, n, gap, func(int) error {
			pid := b.frontPID()
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				return fmt.Errorf("killing front %d: %w", pid, err)
			}
			return waitFor(15*time.Second, "a new front serves", func() bool {
				p := b.frontPID()
				return p != 0 && p != pid && alive(p)
			})
		})
}
