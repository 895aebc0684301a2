package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func dur(d time.Duration) Duration { return Duration{Duration: d} }

func ptr[T any](v T) *T { return &v }

func readExample(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/example.toml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exampleApp is testdata/example.toml after defaults.
func exampleApp() *App {
	return &App{
		Version: 1,
		Name:    "echo",
		Run: Run{
			Command:     []string{"./agent", "--greeting", "hi"},
			Env:         map[string]string{"MODE": "good"},
			StopTimeout: dur(10 * time.Second),
			Restart:     RestartAlways,
			Runtime:     RuntimeEmbedded,
		},
		Service: &Service{Listen: "127.0.0.1:8080", Protocol: ProtocolHTTP},
		Deploy: Deploy{
			Strategy:       StrategyRestart,
			KeepReleases:   5,
			HealthyAfter:   3,
			VerifyFor:      dur(30 * time.Second),
			DrainTimeout:   dur(30 * time.Second),
			KeepWarm:       KeepWarmUntilNextDeploy,
			Ports:          []int{9001, 9002},
			Overlap:        ptr(true),
			Instances:      1,
			MaxSurge:       1,
			MaxErrorRate:   0.05,
			MaxLatencyRise: 3,
			MinRequests:    20,
		},
		Checks: []Check{{
			Name: "up", Type: CheckHTTP, Role: RoleReadiness, Path: "/up", Method: "GET",
			ExpectStatus: 200, Interval: dur(time.Second), Timeout: dur(2 * time.Second),
			Retries: 3, RecoverAfter: 1, StartPeriod: dur(10 * time.Second),
		}, {
			Name: "selftest", Type: CheckExec, Role: RoleFunctional,
			Command:  []string{"./agent", "selftest"},
			Interval: dur(5 * time.Minute), Timeout: dur(30 * time.Second),
			Retries: 3, RecoverAfter: 1, StartPeriod: dur(10 * time.Second), OnFailure: OnFailureAlert,
		}},
		Logs: Logs{
			MaxSize: 10 * MB, MaxAge: dur(24 * time.Hour), Keep: 10, Compress: true,
			MaxTotal: 500 * MB, OnFull: OnFullDrop,
		},
		Constraints: Constraints{Downtime: DowntimeNone, MaxExtraInstances: 1},
	}
}

func TestParseGood(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		toml string
		want func(a *App) // edits a copy of minimalApp
	}{{
		name: "minimal worker gets every default",
		toml: minimal,
		want: func(*App) {},
	}, {
		name: "service switches the default strategy to bluegreen",
		toml: minimal + "[service]\nlisten = \":8080\"\n",
		want: func(a *App) {
			a.Service = &Service{Listen: ":8080", Protocol: ProtocolHTTP}
			a.Deploy.Strategy = StrategyBlueGreen
		},
	}, {
		name: "explicit zero and false are kept, not defaulted",
		toml: minimal + "[deploy]\noverlap = false\nmax_latency_rise = 0\nmin_requests = 0\n[logs]\nkeep = 0\ncompress = false\n",
		want: func(a *App) {
			a.Deploy.Overlap = ptr(false)
			a.Deploy.MaxLatencyRise = 0
			a.Deploy.MinRequests = 0
			a.Logs.Keep = 0
			a.Logs.Compress = false
		},
	}, {
		name: "dotted keys and inline tables",
		toml: "version = 1\nname = \"w\"\nrun.command = [\"./w\"]\nrun.env.A = \"1\"\nlogs = { max_size = 1024, max_total = \"1GiB\" }\n",
		want: func(a *App) {
			a.Name = "w"
			a.Run.Command = []string{"./w"}
			a.Run.Env = map[string]string{"A": "1"}
			a.Logs.MaxSize = 1024
			a.Logs.MaxTotal = GiB
		},
	}, {
		name: "check defaults by role and type",
		toml: minimal + "[service]\nlisten = \"[::1]:80\"\n" +
			"[[checks]]\nname = \"live\"\ntype = \"tcp\"\nrole = \"liveness\"\n" +
			"[[checks]]\nname = \"f\"\ntype = \"exec\"\nrole = \"functional\"\ncommand = [\"./t\"]\n",
		want: func(a *App) {
			a.Service = &Service{Listen: "[::1]:80", Protocol: ProtocolHTTP}
			a.Deploy.Strategy = StrategyBlueGreen
			a.Checks = []Check{{
				Name: "live", Type: CheckTCP, Role: RoleLiveness, Interval: dur(time.Second),
				Timeout: dur(2 * time.Second), Retries: 3, RecoverAfter: 1, StartPeriod: dur(10 * time.Second), OnFailure: OnFailureRestart,
			}, {
				Name: "f", Type: CheckExec, Role: RoleFunctional, Command: []string{"./t"}, Interval: dur(time.Minute),
				Timeout: dur(2 * time.Second), Retries: 3, RecoverAfter: 1, StartPeriod: dur(10 * time.Second), OnFailure: OnFailureAlert,
			}}
		},
	}, {
		name: "checks as an array of inline tables",
		toml: "version = 1\nname = \"worker\"\nchecks = [{ name = \"up\", type = \"http\" }]\n" +
			"[run]\ncommand = [\"./worker\"]\n[service]\nlisten = \"localhost:8080\"\n",
		want: func(a *App) {
			a.Service = &Service{Listen: "localhost:8080", Protocol: ProtocolHTTP}
			a.Deploy.Strategy = StrategyBlueGreen
			a.Checks = []Check{{
				Name: "up", Type: CheckHTTP, Role: RoleReadiness, Path: "/", Method: "GET", ExpectStatus: 200,
				Interval: dur(time.Second), Timeout: dur(2 * time.Second), Retries: 3, RecoverAfter: 1, StartPeriod: dur(10 * time.Second),
			}}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse("berth.toml", []byte(tt.toml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := minimalApp()
			tt.want(want)
			if diff := cmp.Diff(want, got, cmp.FilterPath(isFileOrDir, cmp.Ignore())); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func isFileOrDir(p cmp.Path) bool {
	s := p.String()
	return s == "File" || s == "Dir"
}

const minimal = "version = 1\nname = \"worker\"\n[run]\ncommand = [\"./worker\"]\n"

func minimalApp() *App {
	return &App{
		Version: 1,
		Name:    "worker",
		Run: Run{
			Command: []string{"./worker"}, StopTimeout: dur(10 * time.Second),
			Restart: RestartAlways, Runtime: RuntimeEmbedded,
		},
		Deploy: Deploy{
			Strategy: StrategyRestart, KeepReleases: 5, HealthyAfter: 2, VerifyFor: dur(10 * time.Second),
			DrainTimeout: dur(30 * time.Second), KeepWarm: KeepWarmUntilNextDeploy, Overlap: ptr(true), Instances: 1, MaxSurge: 1,
			MaxErrorRate: 0.05, MaxLatencyRise: 3, MinRequests: 20,
		},
		Logs:        Logs{MaxSize: 10 * MB, Keep: 10, Compress: true, MaxTotal: 500 * MB, OnFull: OnFullDrop},
		Constraints: Constraints{Downtime: DowntimeNone, MaxExtraInstances: 1},
	}
}

func TestLoadExample(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "berth.toml")
	if err := os.WriteFile(path, readExample(t), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := exampleApp()
	want.File, want.Dir = path, dir
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "berth.toml"))
	if !errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("Load of a missing file: got %v, want a not-exist error that is not ErrInvalid", err)
	}
}

func TestInitParses(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"echo", "My_Bot", "", "42 ---", strings.Repeat("a", 60)} {
		app, err := Parse("berth.toml", Init(name))
		if err != nil {
			t.Errorf("Init(%q) does not parse:\n%v", name, err)
			continue
		}
		if app.Name != CleanName(name) || app.Deploy.Strategy != StrategyBlueGreen {
			t.Errorf("Init(%q): name %q strategy %q, want %q bluegreen", name, app.Name, app.Deploy.Strategy, CleanName(name))
		}
	}
}

func TestCleanName(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{name: "valid", in: "echo-2", want: "echo-2"},
		{name: "case and underscores", in: "My_Bot", want: "my-bot"},
		{name: "leading digits dropped", in: "42bot", want: "bot"},
		{name: "nothing usable", in: "__", want: "my-agent"},
		{name: "too long", in: strings.Repeat("ab", 30), want: strings.Repeat("ab", 20)},
	}
	for _, tt := range tests {
		if got := CleanName(tt.in); got != tt.want || !matchMax(nameRe, got, maxName) {
			t.Errorf("%s: CleanName(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}
