package spec

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConstraintsDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		toml string
		want Constraints
	}{
		{"none declared", minimal, Constraints{Downtime: DowntimeNone, MaxExtraInstances: 1}},
		{"singleton defaults to seconds", minimal + "[constraints]\nsingleton = true\n",
			Constraints{Downtime: DowntimeSeconds, Singleton: true, MaxExtraInstances: 1}},
		{"explicit zero extra is kept", minimal + "[constraints]\nmax_extra_instances = 0\ndowntime = \"seconds\"\n",
			Constraints{Downtime: DowntimeSeconds}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			app, err := Parse("berth.toml", []byte(tt.toml))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, app.Constraints); d != "" {
				t.Errorf("constraints (-want +got):\n%s", d)
			}
			if app.Deploy.Instances != 1 {
				t.Errorf("instances = %d, want the default 1", app.Deploy.Instances)
			}
		})
	}
}

func TestConstraintsProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		toml string
		want []prob
	}{
		{"bad downtime", minimal + "[constraints]\ndowntime = \"zero\"\n",
			[]prob{{6, 12, "constraints.downtime", "not a downtime"}}},
		{"negative extra", minimal + "[constraints]\nmax_extra_instances = -1\n",
			[]prob{{6, 23, "constraints.max_extra_instances", "negative"}}},
		{"singleton with instances", minimal + "[deploy]\ninstances = 2\n[constraints]\nsingleton = true\n",
			[]prob{{6, 13, "deploy.instances", "contradict"}}},
		{"zero instances", minimal + "[deploy]\ninstances = 0\n", []prob{{6, 13, "deploy.instances", "out of range"}}},
		{"unknown constraint", minimal + "[constraints]\ndowntme = \"none\"\n", []prob{{6, 1, "constraints.downtme", "unknown key"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("berth.toml", []byte(tt.toml))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse: %v; want *Errors", err)
			}
			var got []prob
			for i, p := range errs.Problems {
				msg := p.Msg
				if i < len(tt.want) && strings.Contains(p.Msg, tt.want[i].Msg) {
					msg = tt.want[i].Msg
				}
				got = append(got, prob{p.Line, p.Col, p.Key, msg})
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("problems (-want +got; Msg is a substring):\n%s\n%v", d, err)
			}
		})
	}
}

// TestStrategyWarnings: an explicit strategy that contradicts a written
// constraint is valid but warned about, at the strategy's file:line:col.
func TestStrategyWarnings(t *testing.T) {
	t.Parallel()
	const svc = "[service]\nlisten = \"127.0.0.1:8080\"\n"
	tests := []struct {
		name string
		toml string
		want []prob
	}{
		{"bluegreen singleton", minimal + svc + "[deploy]\nstrategy = \"bluegreen\"\n[constraints]\nsingleton = true\n",
			[]prob{{8, 12, "deploy.strategy", "a bot would answer twice"}}},
		{"bluegreen worker singleton", minimal + "[deploy]\nstrategy = \"bluegreen\"\n[constraints]\nsingleton = true\n",
			[]prob{{6, 12, "deploy.strategy", "a bot would answer twice"}}},
		{"bluegreen worker stop-first singleton", minimal + "[deploy]\nstrategy = \"bluegreen\"\noverlap = false\n[constraints]\nsingleton = true\n", nil},
		{"bluegreen without room", minimal + svc + "[deploy]\nstrategy = \"bluegreen\"\n[constraints]\nmax_extra_instances = 0\n",
			[]prob{{8, 12, "deploy.strategy", "max_extra_instances = 0"}}},
		{"restart downtime none", minimal + svc + "[deploy]\nstrategy = \"restart\"\n[constraints]\ndowntime = \"none\"\n",
			[]prob{{8, 12, "deploy.strategy", `downtime = "none"`}}},
		{"canary without room", minimal + svc + "[deploy]\nstrategy = \"canary\"\ninstances = 2\n[constraints]\nmax_extra_instances = 1\n",
			[]prob{{8, 12, "deploy.strategy", "canary starts 2 extra"}}},
		{"canary singleton", minimal + svc + "[deploy]\nstrategy = \"canary\"\n[constraints]\nsingleton = true\n",
			[]prob{{8, 12, "deploy.strategy", "both releases at once"}}},
		{"restart with default downtime", minimal + svc + "[deploy]\nstrategy = \"restart\"\n", nil},
		{"bluegreen with default constraints", minimal + svc, nil},
		{"auto never warns", minimal + svc + "[deploy]\nstrategy = \"auto\"\n[constraints]\nsingleton = true\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			app, err := Parse("berth.toml", []byte(tt.toml))
			if err != nil {
				t.Fatal(err)
			}
			var got []prob
			for i, p := range app.Warnings {
				if p.File != "berth.toml" {
					t.Errorf("warning %d: File = %q", i, p.File)
				}
				msg := p.Msg
				if i < len(tt.want) && strings.Contains(p.Msg, tt.want[i].Msg) {
					msg = tt.want[i].Msg
				}
				got = append(got, prob{p.Line, p.Col, p.Key, msg})
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("warnings (-want +got; Msg is a substring):\n%s\n%v", d, app.Warnings)
			}
		})
	}
}

func TestLocate(t *testing.T) {
	t.Parallel()
	data := []byte(minimal + "[constraints]\ndowntime = \"none\"\n")
	tests := []struct {
		key       string
		line, col int
	}{
		{"constraints.downtime", 6, 12},
		{"constraints.max_extra_instances", 5, 2}, // not written: its table header
		{"deploy.instances", 1, 1},                // no [deploy] at all
	}
	for _, tt := range tests {
		p := Locate("berth.toml", data, tt.key, "m")
		if p.Line != tt.line || p.Col != tt.col || p.Key != tt.key || p.File != "berth.toml" {
			t.Errorf("Locate(%s) = %+v, want %d:%d", tt.key, p, tt.line, tt.col)
		}
	}
}
