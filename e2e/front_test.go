package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// frontLoad is clients looping against an app's listen address, counting
// refused connections apart from other failures. Bounded in requests and
// time.
type frontLoad struct {
	cancel                context.CancelFunc
	done                  sync.WaitGroup
	sent, failed, refused atomic.Int64
	mu                    sync.Mutex
	firstErrs             []string
}

func startFrontLoad(port, n int) *frontLoad {
	const maxRequests, maxTime = 200_000, 90 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), maxTime)
	l := &frontLoad{cancel: cancel}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	for i := 0; i < n; i++ {
		c := newClient(5 * time.Second)
		l.done.Go(func() {
			defer c.CloseIdleConnections()
			for ctx.Err() == nil && l.sent.Load() < maxRequests {
				l.sent.Add(1)
				code, body, err := get(c, url)
				if err == nil && code/100 == 2 {
					time.Sleep(2 * time.Millisecond)
					continue
				}
				if errors.Is(err, syscall.ECONNREFUSED) {
					l.refused.Add(1)
				}
				l.failed.Add(1)
				l.mu.Lock()
				if len(l.firstErrs) < 5 {
					l.firstErrs = append(l.firstErrs, fmt.Sprintf("%d %q %v", code, body, err))
				}
				l.mu.Unlock()
			}
		})
	}
	return l
}

func (l *frontLoad) stop() {
	l.cancel()
	l.done.Wait()
}

func (l *frontLoad) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d sent, %d failed (%d refused); first errors %v", l.sent.Load(), l.failed.Load(), l.refused.Load(), l.firstErrs)
}

// frontPID reads the running front's pid.
func (e *env) frontPID() int {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.home, "run", "front", "front.pid"))
	if err != nil {
		e.t.Fatalf("reading the front's pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		e.t.Fatal(err)
	}
	return pid
}

// TestDaemonKill9UnderLoadFailsNothing kills the daemon with SIGKILL
// while clients loop against the app, several times, and starts it again
// each time: the front serves throughout, so no request fails, and the
// front is the same process (the restarted daemon adopted its routes).
func TestDaemonKill9UnderLoadFailsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	e.mustDeploy(app{name: "k9l", version: "v1", mode: "good", listen: port})
	e.waitAnswer(port, "hello from v1")
	fpid := e.frontPID()
	ld := startFrontLoad(port, 4)
	defer ld.stop()
	const kills = 3
	for i := 0; i < kills; i++ {
		time.Sleep(300 * time.Millisecond)
		e.stopDaemon(syscall.SIGKILL)
		time.Sleep(time.Second) // the load runs with no daemon at all
		e.startDaemon()
	}
	time.Sleep(300 * time.Millisecond)
	ld.stop()
	t.Logf("daemon kill -9 x%d under load: %s", kills, ld)
	if ld.failed.Load() != 0 || ld.sent.Load() == 0 {
		t.Errorf("load across %d daemon kills: %s; want 0 failed", kills, ld)
	}
	if got := e.frontPID(); got != fpid || !alive(fpid) {
		t.Errorf("front pid %d after the kills, want %d still alive (adopted, not replaced)", got, fpid)
	}
	e.waitAnswer(port, "hello from v1")
}

// TestFrontKill9RefusesNothing kills the front, the process serving the
// app's listening socket, with SIGKILL under load: the daemon holds a
// duplicate of the socket, so no connection is refused; it notices the
// death, starts a new front with the socket, and that one serves the
// persisted route. Only requests in flight on the killed front may fail;
// they are counted and logged.
func TestFrontKill9RefusesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	e.mustDeploy(app{name: "fk9", version: "v1", mode: "good", listen: port})
	e.waitAnswer(port, "hello from v1")
	ld := startFrontLoad(port, 4)
	defer ld.stop()
	const kills = 3
	for i := 0; i < kills; i++ {
		time.Sleep(500 * time.Millisecond)
		old := e.frontPID()
		killed := time.Now()
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		var next int
		e.eventually(10*time.Second, "a new front serves", func() error {
			b, err := os.ReadFile(filepath.Join(e.home, "run", "front", "front.pid"))
			if err != nil {
				return err
			}
			next, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			if next == old || !alive(next) {
				return fmt.Errorf("front pid %d", next)
			}
			return nil
		})
		t.Logf("front %d killed; front %d serves %s later", old, next, time.Since(killed).Round(time.Millisecond))
	}
	time.Sleep(500 * time.Millisecond)
	ld.stop()
	t.Logf("front kill -9 x%d under load: %s", kills, ld)
	if ld.refused.Load() != 0 || ld.sent.Load() == 0 {
		t.Errorf("load across %d front kills: %s; want 0 refused", kills, ld)
	}
	e.waitAnswer(port, "hello from v1")
	if r := e.berth("events", "--json", "-n", "50"); !strings.Contains(r.stdout, "front.restarted") {
		t.Errorf("no front.restarted event journaled:\n%s", r.stdout)
	}
}

// daemonPIDs returns the pids of daemons of home, from /proc.
func daemonPIDs(home string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, d := range ents {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) > 3 && args[0] == berthBin && args[1] == "daemon" && args[2] == "--home" && args[3] == home && alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// TestDaemonRestartsItself runs a daemon with no outside supervisor: the
// front restarts it within about a second of a SIGKILL, with the same
// flags (its admin listener answers again) and its log appended; traffic
// fails nothing meanwhile. A daemon stopped on purpose stays stopped.
// Run as root with no [front] user, the front stays root by default so
// that it can start a root daemon again (berth_front is the default only
// under an outside supervisor).
func TestDaemonRestartsItself(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.stopDaemon(syscall.SIGTERM)
	endPID(e.frontPID()) // the next front starts for a self-restarting daemon
	e.startDaemonSelfRestarting()
	port := freePort(t)
	e.mustDeploy(app{name: "self", version: "v1", mode: "good", listen: port})
	e.waitAnswer(port, "hello from v1")
	ld := startFrontLoad(port, 2)
	defer ld.stop()
	starts := strings.Count(e.daemonLog(), "berth daemon ready")

	for i := 0; i < 2; i++ {
		old := daemonPIDs(e.home)
		if len(old) != 1 {
			t.Fatalf("daemons of this home: %v, want one", old)
		}
		killed := time.Now()
		syscall.Kill(old[0], syscall.SIGKILL)
		if e.daemon != nil && e.daemon.Process.Pid == old[0] {
			<-e.waited
			e.daemon = nil
		}
		var next []int
		e.eventually(15*time.Second, "the daemon is back", func() error {
			next = daemonPIDs(e.home)
			if len(next) != 1 || next[0] == old[0] {
				return fmt.Errorf("daemons %v", next)
			}
			if r := e.berth("status"); r.code != 0 {
				return fmt.Errorf("berth status: %s", r)
			}
			return nil
		})
		back := time.Since(killed)
		t.Logf("daemon %d killed; daemon %d answers %s later", old[0], next[0], back.Round(time.Millisecond))
		// Same flags: the --admin listener comes back (after the restore).
		e.eventually(15*time.Second, "the restarted daemon serves /metrics on its --admin address", func() error {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", e.admin))
			if err != nil {
				return err
			}
			resp.Body.Close()
			return nil
		})
	}
	ld.stop()
	t.Logf("self-restart under load: %s", ld)
	if ld.failed.Load() != 0 {
		t.Errorf("load across daemon self-restarts: %s; want 0 failed", ld)
	}
	if n := strings.Count(e.daemonLog(), "berth daemon ready"); n != starts+2 {
		t.Errorf("daemon log has %d starts, want %d (two restarts appended)", n, starts+2)
	}
	// Stopped on purpose: not restarted.
	e.notePIDs("self")
	if r := e.berth("stop", "self"); r.code != 0 {
		t.Errorf("berth stop: %s", r)
	}
	pids := daemonPIDs(e.home)
	for _, pid := range pids {
		endPID(pid)
	}
	time.Sleep(2 * time.Second)
	if left := daemonPIDs(e.home); len(left) != 0 {
		t.Errorf("a daemon stopped with SIGTERM was restarted: %v", left)
		for _, pid := range left {
			endPID(pid)
		}
	}
}
