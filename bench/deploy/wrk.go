package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// wrkScript counts answers that are not 2xx across wrk's threads and prints
// one machine-readable line with them and wrk's own socket error counts.
const wrkScript = `
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non2xx = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("non2xx") end
  local e = summary.errors
  io.write(string.format("BENCH requests=%d non2xx=%d connect=%d read=%d write=%d timeout=%d duration_us=%d p99_us=%d\n",
    summary.requests, n, e.connect, e.read, e.write, e.timeout, summary.duration, latency:percentile(99)))
end
`

// wrkResult is what one wrk run saw.
type wrkResult struct {
	requests, non2xx              int64
	connect, read, write, timeout int64
	duration                      time.Duration
	p99                           time.Duration
}

func (r wrkResult) socketErrors() int64 { return r.connect + r.read + r.write + r.timeout }
func (r wrkResult) failed() int64       { return r.non2xx + r.socketErrors() }
func (r wrkResult) rps() float64        { return float64(r.requests) / r.duration.Seconds() }

// wrkRun is a wrk process running in the background until stop.
type wrkRun struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
}

// startWrk loads url with conns keep-alive connections for at most limit;
// stop ends it earlier.
func startWrk(dir, url string, conns int, limit time.Duration) (*wrkRun, error) {
	script := filepath.Join(dir, "count.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		return nil, fmt.Errorf("writing the wrk script: %w", err)
	}
	w := &wrkRun{done: make(chan error, 1)}
	w.cmd = exec.Command("wrk", "-t", strconv.Itoa(min(conns, 2)), "-c", strconv.Itoa(conns),
		"-d", fmt.Sprintf("%ds", int(limit.Seconds())+1), "--timeout", "2s", "-s", script, url)
	w.cmd.Stdout, w.cmd.Stderr = &w.out, &w.out
	if err := w.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting wrk: %w", err)
	}
	go func() { w.done <- w.cmd.Wait() }()
	return w, nil
}

// stop interrupts wrk (which then prints its summary) and parses it.
func (w *wrkRun) stop() (wrkResult, error) {
	_ = w.cmd.Process.Signal(syscall.SIGINT)
	var err error
	select {
	case err = <-w.done:
	case <-time.After(10 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
		return wrkResult{}, fmt.Errorf("wrk did not stop on SIGINT:\n%s", w.out.String())
	}
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w:\n%s", err, w.out.String())
	}
	return parseWrk(w.out.String())
}

// wait lets wrk run to its own end, then parses it.
func (w *wrkRun) wait(ctx context.Context) (wrkResult, error) {
	select {
	case err := <-w.done:
		if err != nil {
			return wrkResult{}, fmt.Errorf("wrk: %w:\n%s", err, w.out.String())
		}
		return parseWrk(w.out.String())
	case <-ctx.Done():
		return w.stop()
	}
}

func parseWrk(out string) (wrkResult, error) {
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "BENCH ") {
			continue
		}
		var r wrkResult
		var us, p99 int64
		for _, f := range strings.Fields(line)[1:] {
			k, v, _ := strings.Cut(f, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch k {
			case "requests":
				r.requests = n
			case "non2xx":
				r.non2xx = n
			case "connect":
				r.connect = n
			case "read":
				r.read = n
			case "write":
				r.write = n
			case "timeout":
				r.timeout = n
			case "duration_us":
				us = n
			case "p99_us":
				p99 = n
			}
		}
		r.duration, r.p99 = time.Duration(us)*time.Microsecond, time.Duration(p99)*time.Microsecond
		return r, nil
	}
	return wrkResult{}, fmt.Errorf("no BENCH line in wrk's output:\n%s", out)
}

// ensureWrk installs wrk with apt-get when it is missing.
func ensureWrk() error {
	if _, err := exec.LookPath("wrk"); err == nil {
		return nil
	}
	fmt.Println("installing wrk with apt-get")
	if out, err := exec.Command("apt-get", "install", "-y", "wrk").CombinedOutput(); err != nil {
		return fmt.Errorf("installing wrk: %w: %s", err, out)
	}
	return nil
}
