// Package sampleagent is the small HTTP agent that ships inside berth for
// `berth demo`, the tests and the benchmarks: a real server on $PORT whose
// behaviour (healthy, broken in a chosen way) is set by its environment, so
// that no compiler or download is needed to show a deploy.
package sampleagent

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// Modes a sample agent can run in (env MODE).
const (
	ModeGood      = "good"       // answers everything
	ModeUnhealthy = "unhealthy"  // /up answers 500: never becomes healthy
	ModeCrash     = "crash"      // exits 1 shortly after start
	ModeErrors    = "errors"     // healthy, but real requests get 500: only traffic shows it
	ModeCrashLate = "crash-late" // healthy, then exits after CRASH_AFTER (default 2s)
	ModeCounter   = "counter"    // a worker: prints "seq 1".."seq COUNT" as fast as it can, then waits
	ModeFlaky     = "flaky"      // healthy, but FAIL_PERCENT (default 30) of every 100 requests to / get 500, spread evenly
)

// Run serves until ctx ends (the CLI ends it on SIGTERM or SIGINT), then
// finishes the requests in flight before it returns. stdout and stderr
// receive a few lines so logs have something to show.
func Run(ctx context.Context, stdout, stderr io.Writer) error {
	version, mode := getenv("VERSION", "v1"), getenv("MODE", ModeGood)
	if mode == ModeCounter {
		return count(ctx, stdout)
	}
	port := getenv("PORT", "8080")
	l, err := net.Listen("tcp", net.JoinHostPort(getenv("HOST", "127.0.0.1"), port))
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	fmt.Fprintf(stdout, "sample agent %s (mode %s) listening on %s\n", version, mode, l.Addr())
	switch mode {
	case ModeCrash:
		time.Sleep(200 * time.Millisecond)
		fmt.Fprintln(stderr, "fatal: cannot reach the model endpoint (simulated crash)")
		os.Exit(1)
	case ModeCrashLate:
		d, _ := time.ParseDuration(getenv("CRASH_AFTER", "2s"))
		time.AfterFunc(d, func() {
			fmt.Fprintln(stderr, "fatal: out of memory (simulated crash after start)")
			os.Exit(1)
		})
	}
	m := handler(version, mode)
	m.HandleFunc("/secret", secretInfo)
	m.HandleFunc("POST /print-secret", printSecret(stdout, stderr))
	srv := &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
	shut := make(chan error, 1)
	go func() {
		<-ctx.Done()
		fmt.Fprintln(stdout, "SIGTERM: finishing requests in flight")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != http.ErrServerClosed {
		return err
	}
	// Serve returns as soon as shutdown begins; the requests in flight
	// finish only when Shutdown returns.
	err = <-shut
	fmt.Fprintln(stdout, "stopped")
	return err
}

func handler(version, mode string) *http.ServeMux {
	var broken atomic.Bool
	m := http.NewServeMux()
	// POST /break makes /up fail from then on: an agent that goes bad while
	// running, for the monitor's tests and demos.
	m.HandleFunc("POST /break", func(w http.ResponseWriter, r *http.Request) {
		broken.Store(true)
		fmt.Fprintln(w, "broken")
	})
	// POST /mend undoes /break: an agent that recovers by itself.
	m.HandleFunc("POST /mend", func(w http.ResponseWriter, r *http.Request) {
		broken.Store(false)
		fmt.Fprintln(w, "mended")
	})
	m.HandleFunc("/up", func(w http.ResponseWriter, r *http.Request) {
		if mode == ModeUnhealthy || broken.Load() {
			http.Error(w, "not ready: warming cache", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	m.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, version) })
	m.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		fmt.Fprintf(w, "slow %dms from %s\n", ms, version)
	})
	m.HandleFunc("/events", sse(version))
	failPct, _ := strconv.Atoi(getenv("FAIL_PERCENT", "30"))
	var served atomic.Uint64
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// Flaky fails FAIL_PERCENT of every hundred requests, spread
		// evenly: an exact share, not a random one.
		if n := served.Add(1); mode == ModeFlaky && n*uint64(failPct)/100 != (n-1)*uint64(failPct)/100 {
			http.Error(w, "internal error (simulated, flaky)", http.StatusInternalServerError)
			return
		}
		if mode == ModeErrors {
			http.Error(w, "internal error (simulated)", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "hello from %s\n", version)
	})
	return m
}

// sse streams one event every 100ms for ?seconds= (default 5).
func sse(version string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secs, err := strconv.Atoi(r.URL.Query().Get("seconds"))
		if err != nil || secs <= 0 {
			secs = 5
		}
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		end := time.After(time.Duration(secs) * time.Second)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(w, "data: %s %d\n\n", version, i)
			if rc.Flush() != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-end:
				fmt.Fprint(w, "event: end\ndata: done\n\n")
				return
			case <-t.C:
			}
		}
	}
}

// count prints sequence-numbered lines as fast as it can, or pausing PACE
// after every thousand (the log tests and benchmarks count them back), then
// waits for ctx.
func count(ctx context.Context, stdout io.Writer) error {
	n, _ := strconv.Atoi(getenv("COUNT", "100000"))
	pace, _ := time.ParseDuration(getenv("PACE", "0s"))
	w := bufio.NewWriterSize(stdout, 64<<10)
	for i := 1; i <= n; i++ {
		if pace > 0 && i%1000 == 0 {
			if err := w.Flush(); err != nil {
				return err
			}
			time.Sleep(pace)
		}
		w.WriteString("seq ")
		w.WriteString(strconv.Itoa(i))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// SelfTest is a functional check: it asks the agent on $PORT for real.
func SelfTest() error {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + getenv("PORT", "8080") + "/")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET / answered %s: %s", resp.Status, b)
	}
	return nil
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
