package systemd

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/instance"
	"github.com/berth-dev/berth/internal/runtime"
)

func TestStatusFrom(t *testing.T) {
	t.Parallel()
	started := time.Date(2026, 11, 25, 19, 14, 4, 0, time.UTC)
	tests := []struct {
		name  string
		props map[string]string
		want  runtime.Status
	}{{
		name:  "running",
		props: map[string]string{"ActiveState": "active", "SubState": "running", "MainPID": "412", "NRestarts": "0", "ExecMainStartTimestamp": "Wed 2026-11-25 19:14:04 UTC", "ExecMainCode": "0"},
		want:  runtime.Status{State: runtime.StateRunning, PID: 412, StartedAt: started},
	}, {
		name:  "waiting to restart after a crash",
		props: map[string]string{"ActiveState": "activating", "SubState": "auto-restart", "MainPID": "0", "NRestarts": "2", "ExecMainCode": "1", "ExecMainStatus": "1", "ExecMainExitTimestamp": "Wed 2026-11-25 19:14:04 UTC"},
		want:  runtime.Status{State: runtime.StateBackoff, Restarts: 2, LastExit: "exit 1", LastExitAt: started},
	}, {
		name:  "crash loop",
		props: map[string]string{"ActiveState": "activating", "SubState": "auto-restart", "NRestarts": "7", "ExecMainCode": "2", "ExecMainStatus": "9"},
		want:  runtime.Status{State: runtime.StateCrashloop, Restarts: 7, LastExit: "signal: 9"},
	}, {
		name:  "failed and staying down",
		props: map[string]string{"ActiveState": "failed", "SubState": "failed", "MainPID": "0", "ExecMainCode": "1", "ExecMainStatus": "3", "ExecMainStartTimestamp": "n/a"},
		want:  runtime.Status{State: runtime.StateExited, LastExit: "exit 3"},
	}, {
		name:  "stopped",
		props: map[string]string{"ActiveState": "inactive", "SubState": "dead", "MainPID": "0"},
		want:  runtime.Status{State: runtime.StateStopped},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, statusFrom(tt.props)); diff != "" {
				t.Errorf("statusFrom (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseExposure(t *testing.T) {
	t.Parallel()
	e, v, err := parseExposure([]byte("✓ UMask= ...\n\n→ Overall exposure level for berth-echo@blue.service: 1.1 OK 🙂\n"))
	if err != nil || e != 1.1 || v != "OK" {
		t.Errorf("parseExposure = %v, %q, %v; want 1.1, OK", e, v, err)
	}
	if _, _, err := parseExposure([]byte("Unit x.service not found.")); err == nil {
		t.Error("parseExposure accepted output without a score")
	}
}

func TestSplitID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, id, app, color string
		ok                   bool
	}{
		{"plain", "echo.blue", "echo", "blue", true},
		{"instance 2", "echo.blue.2", "echo", "blue.2", true},
		{"dashes", "my-app.green", "my-app", "green", true},
		{"no color", "echo", "", "", false},
		{"empty color", "echo.", "", "", false},
		{"empty app", ".blue", "", "", false},
	}
	for _, tt := range tests {
		app, color, err := SplitID(tt.id)
		if (err == nil) != tt.ok || app != tt.app || color != tt.color {
			t.Errorf("%s: SplitID(%q) = %q, %q, %v", tt.name, tt.id, app, color, err)
		}
	}
}

// With instances = N, each instance has its own unit of the app's template
// and its own link and environment file, named by its slot: the names of
// 3 instances of both colors are pinned in a golden file, and each id
// splits back into the slot it was made from.
func TestInstanceNamesGolden(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	seen := map[string]bool{}
	p := AppPaths{Home: varLib, App: "echo"}
	for _, color := range []string{"blue", "green"} {
		for _, id := range instance.Of("echo", color, 3) {
			app, slot, err := SplitID(id.String())
			if err != nil || app != "echo" || slot != id.Slot() {
				t.Errorf("SplitID(%q) = %q, %q, %v; want echo, %s", id, app, slot, err, id.Slot())
			}
			names := []string{UnitName(app, slot), p.ColorLink(slot), p.ColorEnv(slot)}
			for _, n := range names {
				if seen[n] {
					t.Errorf("%s is shared by two instances", n)
				}
				seen[n] = true
			}
			fmt.Fprintf(&b, "%s\t%s\n", id, strings.Join(names, "\t"))
		}
	}
	golden(t, "instance-names.txt", []byte(b.String()))
}
