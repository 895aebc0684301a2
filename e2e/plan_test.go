package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// planJSON is berth plan --json as docs/cli.md gives it.
type planJSON struct {
	Strategy string         `json:"strategy"`
	Settings map[string]any `json:"settings"`
	Options  []struct {
		Strategy       string `json:"strategy"`
		Fits           bool   `json:"fits"`
		Downtime       string `json:"downtime"`
		Rollback       string `json:"rollback"`
		ExtraInstances int    `json:"extra_instances"`
		Why            string `json:"why"`
	} `json:"options"`
}

// TestPlanJSON runs berth plan --json on a few specs with no daemon (a home
// where none runs): the planner needs none.
func TestPlanJSON(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	service := app{name: "p", version: "v1", listen: 18080, strategy: "auto"}
	worker := app{name: "bot", version: "v1", strategy: "auto"}
	tests := []struct {
		name     string
		a        app
		extra    string
		code     int
		strategy string
		settings map[string]any
		fits     []bool // restart, bluegreen, rolling, canary
	}{
		{"service with room", service, "", 0, "bluegreen", map[string]any{"instances": 1.0}, []bool{false, true, true, true}},
		{"singleton bot", worker, "\n[constraints]\nsingleton = true\n", 0, "restart", map[string]any{"stop_first": true}, []bool{true, false, false, false}},
		{"four instances, room for two", service, "instances = 4\n\n[constraints]\nmax_extra_instances = 2\n", 0, "rolling",
			map[string]any{"instances": 4.0, "max_surge": 2.0, "max_unavailable": 0.0}, []bool{false, false, true, false}},
		{"nothing fits", service, "\n[constraints]\nmax_extra_instances = 0\n", 2, "", map[string]any{}, []bool{false, false, false, false}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.a.extra = tt.extra
			dir := filepath.Join(home, "src", string(rune('a'+i)))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "berth.toml")
			if err := os.WriteFile(path, []byte(tt.a.spec()), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runBerth(home, "plan", "-f", path, "--json")
			if r.code != tt.code {
				t.Fatalf("berth plan: want exit %d, got %s", tt.code, r)
			}
			var p planJSON
			dec := json.NewDecoder(strings.NewReader(r.stdout))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&p); err != nil {
				t.Fatalf("decoding %q: %v", r.stdout, err)
			}
			if p.Strategy != tt.strategy {
				t.Errorf("strategy = %q, want %q", p.Strategy, tt.strategy)
			}
			if d := cmp.Diff(tt.settings, p.Settings); d != "" {
				t.Errorf("settings (-want +got):\n%s", d)
			}
			var names []string
			var fits []bool
			for _, o := range p.Options {
				names, fits = append(names, o.Strategy), append(fits, o.Fits)
				if o.Why == "" || o.Downtime == "" || o.Rollback == "" {
					t.Errorf("option %s has an empty field: %+v", o.Strategy, o)
				}
			}
			if d := cmp.Diff([]string{"restart", "bluegreen", "rolling", "canary"}, names); d != "" {
				t.Errorf("options (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.fits, fits); d != "" {
				t.Errorf("fits restart, bluegreen, rolling, canary (-want +got):\n%s", d)
			}
			if tt.code == 2 && !regexp.MustCompile(`berth\.toml:\d+:\d+: constraints\.max_extra_instances: .*relax one`).MatchString(r.stderr) {
				t.Errorf("nothing fits: stderr lacks file:line:col and what to relax:\n%s", r.stderr)
			}
		})
	}
}

// TestValidateWarnsOnContradiction: an explicit strategy against a written
// constraint is valid (exit 0) with a warning at file:line:col.
func TestValidateWarnsOnContradiction(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "berth.toml")
	a := app{name: "bot", version: "v1", strategy: "bluegreen", extra: "\n[constraints]\nsingleton = true\n"}
	if err := os.WriteFile(path, []byte(a.spec()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runBerth(t.TempDir(), "validate", "-f", path)
	if r.code != 0 || !regexp.MustCompile(`(?m)^warning: .*berth\.toml:\d+:12: deploy\.strategy: .*answer twice`).MatchString(r.stderr) {
		t.Errorf("validate: want exit 0 and a warning at deploy.strategy, got %s", r)
	}
}

// TestAutoDeployUnderLoad deploys a strategy = "auto" service under load:
// the planner chooses bluegreen, deploy says so first, and no request
// fails. A spec whose plan is rolling (not in this engine yet) is refused
// with exit 2 and the live version keeps serving.
func TestAutoDeployUnderLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := app{name: "auto", version: "v1", mode: "good", listen: port, strategy: "auto",
		extra: "\n[constraints]\ndowntime = \"none\"\nmax_extra_instances = 1\n"}
	r := e.mustDeploy(a)
	if first, _, _ := strings.Cut(r.stdout, "\n"); !strings.HasPrefix(first, "strategy auto: bluegreen instances=1: ") {
		t.Errorf("deploy's first line = %q, want the auto choice", first)
	}
	e.waitAnswer(port, "hello from v1")

	ld := startLoad(port, 4)
	defer ld.stop()
	time.Sleep(300 * time.Millisecond)
	for _, v := range []string{"v2", "v3"} {
		before := ld.sent.Load()
		a.version = v
		e.mustDeploy(a)
		if ld.sent.Load() == before {
			t.Errorf("no request was sent during the deploy of %s", v)
		}
	}
	ld.stop()
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed during auto (bluegreen) deploys; first: %v", f, ld.sent.Load(), ld.errs())
	}
	t.Logf("%d requests, 0 failed; answers: %v", ld.sent.Load(), ld.bodies)
	if d := e.latest("auto"); d.Strategy != "bluegreen" {
		t.Errorf("history strategy = %q, want bluegreen", d.Strategy)
	}
	if s := e.status("auto"); s.Strategy != "bluegreen" {
		t.Errorf("status strategy = %q, want bluegreen (the monitor reads the resolved spec)", s.Strategy)
	}

	plan := e.berth("plan", "-f", e.write(a))
	if plan.code != 0 || !strings.Contains(plan.stdout, "durations measured: median of this app's last 3 deploy(s)") {
		t.Errorf("berth plan with a daemon: want estimates measured over 3 deploys, got %s", plan)
	}

	a.version, a.extra = "v4", "instances = 3\n\n[constraints]\nmax_extra_instances = 1\n"
	r = e.deploy(a)
	if r.code != 0 || !strings.Contains(r.stdout, "strategy auto: rolling instances=3 max_surge=1") {
		t.Errorf("auto choosing rolling: want it printed first and run, got %s", r)
	}
	e.waitAnswer(port, "hello from v4")
	s := e.status("auto")
	live := 0
	for _, in := range s.Instances {
		if in.Live {
			live++
		}
	}
	if s.Strategy != "rolling" || live != 3 {
		t.Errorf("after the auto rolling deploy: strategy %q with %d live instances, want rolling with 3", s.Strategy, live)
	}
}

// TestAutoSingletonWorkerStopsFirst: a singleton worker under auto is
// deployed with restart, the old instance stopped before the new one starts.
func TestAutoSingletonWorkerStopsFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := app{name: "bot", version: "v1", mode: "counter", strategy: "auto", extra: "\n[constraints]\nsingleton = true\n"}
	e.mustDeploy(a)
	a.version = "v2"
	r := e.mustDeploy(a)
	if !strings.HasPrefix(r.stdout, "strategy auto: restart stop_first=true: singleton = true") {
		t.Errorf("deploy output starts %q, want the auto choice of restart", firstLine(r.stdout))
	}
	d := e.latest("bot")
	if d.Strategy != "restart" {
		t.Errorf("history strategy = %q, want restart", d.Strategy)
	}
	stop, start := -1, -1
	for i, s := range d.Steps {
		switch {
		case strings.HasPrefix(s.Name, "stop ") && stop < 0:
			stop = i
		case strings.HasPrefix(s.Name, "start ") && start < 0:
			start = i
		}
	}
	if stop < 0 || start < 0 || stop > start {
		t.Errorf("steps %v: want a stop before the start", d.Steps)
	}
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
