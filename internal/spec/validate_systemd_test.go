package spec

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const systemdMinimal = "version = 1\nname = \"worker\"\n[run]\ncommand = [\"./worker\"]\nruntime = \"systemd\"\n"

func TestParseSystemdKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		toml string
		want Run
	}{{
		name: "every key",
		toml: systemdMinimal + "memory_max = \"512MiB\"\ncpu_quota = \"150%\"\ntasks_max = 64\nenv_file = \"secrets.env\"\nnotify = true\nwatchdog = \"30s\"\ncapabilities = [\"CAP_NET_BIND_SERVICE\"]\n[run.systemd]\nrelax = [\"MemoryDenyWriteExecute\", \"PrivateUsers\"]\n",
		want: Run{
			MemoryMax: 512 * MiB, CPUQuota: "150%", CPUs: 1.5, TasksMax: 64, EnvFile: "secrets.env",
			Notify: true, Watchdog: dur(30 * time.Second),
			Capabilities: []string{"CAP_NET_BIND_SERVICE"},
			Systemd:      RunSystemd{Relax: []string{"MemoryDenyWriteExecute", "PrivateUsers"}},
		},
	}, {
		name: "auto accepts them too, as dotted keys",
		toml: strings.Replace(systemdMinimal, "\"systemd\"", "\"auto\"", 1) + "systemd.relax = [\"ProtectHome\"]\nmemory_max = 100000000\n",
		want: Run{MemoryMax: 100 * MB, Systemd: RunSystemd{Relax: []string{"ProtectHome"}}},
	}, {
		name: "none of them",
		toml: systemdMinimal,
		want: Run{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			app, err := Parse("berth.toml", []byte(tt.toml))
			if err != nil {
				t.Fatal(err)
			}
			got := app.Run
			// Only the systemd keys are under test here.
			got.Command, got.Env, got.User, got.StopTimeout, got.Restart, got.Runtime = nil, nil, "", Duration{}, "", ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("run (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSystemdBad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		toml string
		want []prob
	}{{
		name: "systemd keys under the embedded runtime",
		toml: minimal + "memory_max = \"1GiB\"\nnotify = true\n[run.systemd]\nrelax = []\n",
		want: []prob{
			{6, 10, "run.notify", `only the systemd runtime applies this; set runtime = "systemd"`},
			{7, 6, "run.systemd", "only the systemd runtime"},
		},
	}, {
		name: "bad values",
		toml: systemdMinimal + "cpu_quota = \"0.5\"\ntasks_max = -1\nmemory_max = \"1KB\"\nenv_file = \"\"\nwatchdog = \"10s\"\ncapabilities = [\"NET_BIND_SERVICE\", \"CAP_FLY\"]\nsystemd.relax = [\"MemoryDenyWriteExec\", \"Everything\"]\n",
		want: []prob{
			{6, 13, "run.cpu_quota", `like "50%"`},
			{7, 13, "run.tasks_max", "is negative"},
			{8, 14, "run.memory_max", "too small"},
			{9, 12, "run.env_file", "is empty"},
			{10, 12, "run.watchdog", "needs notify = true"},
			{11, 17, "run.capabilities[0]", `did you mean "CAP_NET_BIND_SERVICE"?`},
			{11, 37, "run.capabilities[1]", `like "CAP_NET_BIND_SERVICE"`},
			{12, 18, "run.systemd.relax[0]", `did you mean "MemoryDenyWriteExecute"?`},
			{12, 41, "run.systemd.relax[1]", "allowed here: NoNewPrivileges"},
		},
	}, {
		name: "watchdog too short",
		toml: systemdMinimal + "notify = true\nwatchdog = \"10ms\"\n",
		want: []prob{{7, 12, "run.watchdog", "at least \"1s\""}},
	}, {
		name: "docker needs an image",
		toml: minimal + "runtime = \"docker\"\n",
		want: []prob{{5, 11, "run.runtime", `a container runtime needs an image`}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("berth.toml", []byte(tt.toml))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse error = %v; want *Errors", err)
			}
			var got []prob
			for _, p := range errs.Problems {
				msg := p.Msg
				for _, w := range tt.want {
					if w.Key == p.Key && strings.Contains(p.Msg, w.Msg) {
						msg = w.Msg
					}
				}
				got = append(got, prob{p.Line, p.Col, p.Key, msg})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got; Msg is a substring):\n%s\nfull error:\n%v", diff, err)
			}
		})
	}
}
