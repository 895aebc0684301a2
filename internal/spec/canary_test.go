package spec

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const canaryBase = "version = 1\nname = \"api\"\n[run]\ncommand = [\"./api\"]\n[service]\nlisten = \"127.0.0.1:8080\"\n[deploy]\nstrategy = \"canary\"\n"

func TestCanaryDefaultsAndValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		toml string
		want *Canary
	}{{
		name: "strategy alone gets the defaults",
		toml: canaryBase,
		want: &Canary{Steps: []int{10, 50, 100}, StepFor: StepFor{Duration: time.Minute}, MaxErrorRate: 1, MaxP99Ratio: 2, MinRequests: 50},
	}, {
		name: "table written in full",
		toml: canaryBase + "[deploy.canary]\nsteps = [5, 100]\nstep_for = \"manual\"\nmax_error_rate = \"2.5%\"\nmax_p99_ratio = 0\nmin_requests = 10\n",
		want: &Canary{Steps: []int{5, 100}, StepFor: StepFor{Manual: true}, MaxErrorRate: 2.5, MaxP99Ratio: 0, MinRequests: 10},
	}, {
		name: "a table under another strategy is kept (the planner reads it)",
		toml: strings.Replace(canaryBase, `"canary"`, `"auto"`, 1) + "[deploy.canary]\nstep_for = \"30s\"\n",
		want: &Canary{Steps: []int{10, 50, 100}, StepFor: StepFor{Duration: 30 * time.Second}, MaxErrorRate: 1, MaxP99Ratio: 2, MinRequests: 50},
	}, {
		name: "no table and another strategy: none",
		toml: strings.Replace(canaryBase, `"canary"`, `"bluegreen"`, 1),
		want: nil,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			app, err := Parse("berth.toml", []byte(tt.toml))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, app.Deploy.Canary); d != "" {
				t.Errorf("Deploy.Canary (-want +got):\n%s", d)
			}
		})
	}
}

func TestCanaryProblemsPointAtTheValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		toml string
		want []prob
	}{{
		name: "steps not ascending, out of range",
		toml: canaryBase + "[deploy.canary]\nsteps = [20, 10, 120, 90]\n",
		want: []prob{
			{10, 14, "deploy.canary.steps[1]", "does not rise"},
			{10, 18, "deploy.canary.steps[2]", "out of range"},
			{10, 23, "deploy.canary.steps[3]", "does not rise"},
		},
	}, {
		name: "last step below 100",
		toml: canaryBase + "[deploy.canary]\nsteps = [10, 50]\n",
		want: []prob{{10, 14, "deploy.canary.steps[1]", "end at 100"}},
	}, {
		name: "bad step_for, error rate without %, ratio below 1, no requests",
		toml: canaryBase + "[deploy.canary]\nstep_for = \"soon\"\nmax_error_rate = \"1\"\nmax_p99_ratio = 0.5\nmin_requests = 0\n",
		want: []prob{
			{10, 12, "deploy.canary.step_for", `or "manual"`},
			{11, 18, "deploy.canary.max_error_rate", "not a percentage"},
			{12, 17, "deploy.canary.max_p99_ratio", "out of range"},
			{13, 16, "deploy.canary.min_requests", "too small"},
		},
	}, {
		name: "a canary needs a service",
		toml: "version = 1\nname = \"w\"\n[run]\ncommand = [\"./w\"]\n[deploy]\nstrategy = \"canary\"\n",
		want: []prob{{6, 12, "deploy.strategy", "without [service]"}},
	}, {
		name: "empty steps",
		toml: canaryBase + "[deploy.canary]\nsteps = []\n",
		want: []prob{{10, 9, "deploy.canary.steps", "is empty"}},
	}}
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
				t.Errorf("problems (-want +got):\n%s\n%v", d, err)
			}
		})
	}
}
