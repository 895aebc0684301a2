package systemd

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/systemd -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

var varLib = home.Layout{Root: "/var/lib/berth"}

func TestServiceUnitGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		svc  Service
	}{{
		name: "plain.service",
		svc: Service{App: "echo", Home: varLib, Argv: []string{"./agent", "--greeting", "hi"},
			User: "berth-echo", Restart: spec.RestartAlways, StopTimeout: 10 * time.Second},
	}, {
		name: "limits-notify-caps.service",
		svc: Service{App: "web", Home: varLib, Argv: []string{"/usr/bin/web-agent"}, User: "berth-web",
			Restart: spec.RestartOnFailure, StopTimeout: 1500 * time.Millisecond,
			MemoryMax: 512 << 20, CPUQuota: "150%", TasksMax: 64, Notify: true, Watchdog: 30 * time.Second,
			Capabilities: []string{"CAP_NET_BIND_SERVICE"}},
	}, {
		name: "relaxed-root.service",
		svc: Service{App: "jit", Home: varLib, Argv: []string{"node", "server.js"}, User: "root",
			Restart: spec.RestartNever, Relax: []string{"MemoryDenyWriteExecute", "SystemCallFilter", "ProtectHome"}},
	}, {
		name: "escaping.service",
		svc: Service{App: "esc", Home: home.Layout{Root: "/srv/100%berth"}, User: "berth-esc",
			Argv: []string{"./bin/my agent", "50%", "$HOME", "${X}", `say "hi"`, `back\slash`, "it's", "", ";", "tab\there", "%i", "naïve"}},
	}, {
		name: "secrets.service",
		svc: Service{App: "echo", Home: varLib, Argv: []string{"./agent"}, User: "berth-echo",
			Restart: spec.RestartAlways, Secrets: []string{"API_KEY", "DB_URL"}, SecretsEnv: true},
	}, {
		name: "home-under-root.service",
		svc:  Service{App: "dev", Home: home.Layout{Root: "/root/.local/state/berth"}, Argv: []string{"./a"}, User: "root"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := tt.svc.Unit()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, u.Render())
		})
	}
}

func TestDaemonAndTimerGolden(t *testing.T) {
	t.Parallel()
	d, err := Daemon{Exe: "/usr/local/bin/berth", Home: "/var/lib/berth"}.Unit()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "berth.service", d.Render())
	svc, timer, err := CheckTimer{Exe: "/usr/local/bin/berth", Home: "/var/lib/berth", Interval: 15 * time.Minute}.Units()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "berth-check-disk.service", svc.Render())
	golden(t, "berth-check-disk.timer", timer.Render())
	svc, timer, err = CheckTimer{Exe: "/usr/local/bin/berth", Home: "/var/lib/berth", Interval: 5 * time.Minute, App: "echo"}.Units()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "berth-check-app-echo.service", svc.Render())
	golden(t, "berth-check-app-echo.timer", timer.Render())
}

func TestServiceUnitRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		svc  Service
		want string
	}{
		{"newline in an argument", Service{App: "a", Home: varLib, Argv: []string{"./a", "x\ny"}}, "newline or NUL"},
		{"NUL in the program", Service{App: "a", Home: varLib, Argv: []string{"./a\x00"}}, "newline or NUL"},
		{"carriage return", Service{App: "a", Home: varLib, Argv: []string{"/a", "\r"}}, "newline or NUL"},
		{"prefix character", Service{App: "a", Home: varLib, Argv: []string{"-agent"}}, "ExecStart= prefix"},
		{"empty command", Service{App: "a", Home: varLib}, "empty command"},
		{"home with a space", Service{App: "a", Home: home.Layout{Root: "/srv/my home"}, Argv: []string{"./a"}}, "plain path"},
		{"relative home", Service{App: "a", Home: home.Layout{Root: "berth"}, Argv: []string{"./a"}}, "not absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.svc.Unit()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrUnrepresentable) && tt.want != "empty command" {
				t.Fatalf("Unit() error = %v; want one containing %q", err, tt.want)
			}
		})
	}
}

// TestHardeningNamesMatchSpec keeps [run.systemd] relax's accepted names and
// the directives actually rendered the same set.
func TestHardeningNamesMatchSpec(t *testing.T) {
	t.Parallel()
	got, want := hardeningNames(), spec.HardeningDirectives()
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spec.HardeningDirectives vs rendered (-spec +rendered):\n%s", diff)
	}
}

func TestRelaxDropsExactlyThatDirective(t *testing.T) {
	t.Parallel()
	base := Service{App: "a", Home: varLib, Argv: []string{"./a"}, User: "berth-a"}
	full, err := base.Unit()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range spec.HardeningDirectives() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := base
			s.Relax = []string{name}
			u, err := s.Unit()
			if err != nil {
				t.Fatal(err)
			}
			if len(full.Get("Service", name)) == 0 {
				t.Fatalf("the default unit has no %s=", name)
			}
			if got := u.Get("Service", name); len(got) != 0 {
				t.Errorf("relaxed %s still rendered: %q", name, got)
			}
			if len(u.Sections[1].Directives) >= len(full.Sections[1].Directives) {
				t.Errorf("relaxing %s removed nothing", name)
			}
		})
	}
}

// TestSpecAndInstanceRenderTheSameUnit: provisioning renders from the spec,
// the runtime from the instance the engine builds; they must agree or every
// deploy would rewrite the unit.
func TestSpecAndInstanceRenderTheSameUnit(t *testing.T) {
	t.Parallel()
	app, err := spec.Parse("berth.toml", []byte(`version = 1
name = "echo"
[run]
command = ["./agent", "--x", "50%"]
runtime = "systemd"
memory_max = "256MiB"
cpu_quota = "50%"
tasks_max = 32
notify = true
watchdog = "20s"
capabilities = ["CAP_NET_BIND_SERVICE"]
systemd.relax = ["ProtectClock"]
`))
	if err != nil {
		t.Fatal(err)
	}
	r := app.Run
	inst := runtime.Instance{
		ID: "echo.blue", App: app.Name, Argv: r.Command, User: "berth-echo", Restart: r.Restart,
		StopTimeout: r.StopTimeout.Duration, MemoryMax: int64(r.MemoryMax), CPUQuota: r.CPUQuota,
		TasksMax: r.TasksMax, Notify: r.Notify, Watchdog: r.Watchdog.Duration,
		Capabilities: r.Capabilities, Relax: r.Systemd.Relax,
	}
	a, err := FromSpec(app, varLib).Unit()
	if err != nil {
		t.Fatal(err)
	}
	b, err := FromInstance(inst, varLib).Unit()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(a.Render()), string(b.Render())); diff != "" {
		t.Errorf("spec vs instance unit (-spec +instance):\n%s", diff)
	}
}
