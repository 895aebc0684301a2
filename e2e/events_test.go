package e2e

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/state"
)

// TestDaemonRestartDoesNotReplayKeeperEvents: the keeper's instance events
// are journaled once; a restarted daemon must not copy them again under new
// sequence numbers (berth events -f would print each twice).
func TestDaemonRestartDoesNotReplayKeeperEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t) // the sample agent listens, on 8080 without PORT
	e.mustDeploy(app{name: "evonce", version: "v1", mode: "good", listen: port})
	e.mustDeploy(app{name: "evonce", version: "v2", mode: "good", listen: port})
	count := func() map[string]int {
		r := e.berth("events", "evonce", "--json", "-n", "0")
		if r.code != 0 {
			t.Fatalf("berth events: %s", r)
		}
		seen := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var ev state.Event
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("event %q: %v", line, err)
			}
			if strings.HasPrefix(ev.Kind, "instance.") {
				seen[ev.Time.Format(time.RFC3339Nano)+" "+ev.Kind+" "+ev.Message]++
			}
		}
		return seen
	}
	var before map[string]int
	e.eventually(10*time.Second, "keeper events journaled", func() error {
		if before = count(); len(before) == 0 {
			return errNoEvents
		}
		return nil
	})
	for i := 0; i < 2; i++ {
		e.stopDaemon(syscall.SIGTERM)
		e.startDaemon()
	}
	time.Sleep(1500 * time.Millisecond) // the importer polls the keeper at once on start; give it time to (wrongly) replay
	after := count()
	for k, n := range after {
		if n > 1 {
			t.Errorf("keeper event journaled %d times after two daemon restarts: %s", n, k)
		}
	}
	for k := range before {
		if after[k] != 1 {
			t.Errorf("event %s: %d times after restarts, want 1", k, after[k])
		}
	}
}

var errNoEvents = errorString("no instance events yet")

type errorString string

func (e errorString) Error() string { return string(e) }
