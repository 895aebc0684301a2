package metrics

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

func TestDeployFinished(t *testing.T) {
	t.Parallel()
	type call struct {
		app, kind, outcome string
		took               time.Duration
	}
	tests := []struct {
		name  string
		calls []call
		want  samples
	}{
		{
			name:  "a successful deploy",
			calls: []call{{"web", "deploy", "succeeded", 12 * time.Second}},
			want: samples{
				`berth_deploys_total{app="web",kind="deploy",outcome="succeeded"}`: 1,
				`berth_deploy_duration_seconds_count{app="web",kind="deploy"}`:     1,
				`berth_deploy_duration_seconds_sum{app="web",kind="deploy"}`:       12,
			},
		},
		{
			name: "automatic and manual rollbacks",
			calls: []call{
				{"web", "deploy", "rolled-back", 40 * time.Second},
				{"web", "rollback", "succeeded", 2 * time.Second},
				{"web", "rollback", "failed", time.Second}, // no rollback happened
			},
			want: samples{
				`berth_deploys_total{app="web",kind="deploy",outcome="rolled-back"}`: 1,
				`berth_deploys_total{app="web",kind="rollback",outcome="succeeded"}`: 1,
				`berth_deploys_total{app="web",kind="rollback",outcome="failed"}`:    1,
				`berth_deploy_duration_seconds_count{app="web",kind="deploy"}`:       1,
				`berth_deploy_duration_seconds_sum{app="web",kind="deploy"}`:         40,
				`berth_deploy_duration_seconds_count{app="web",kind="rollback"}`:     2,
				`berth_deploy_duration_seconds_sum{app="web",kind="rollback"}`:       3,
				`berth_rollbacks_total{app="web",reason="automatic"}`:                1,
				`berth_rollbacks_total{app="web",reason="manual"}`:                   1,
			},
		},
		{
			name:  "unknown kind and outcome become other",
			calls: []call{{"web", "deploy-17", "rel-20260101", time.Second}},
			want: samples{
				`berth_deploys_total{app="web",kind="other",outcome="other"}`: 1,
				`berth_deploy_duration_seconds_count{app="web",kind="other"}`: 1,
				`berth_deploy_duration_seconds_sum{app="web",kind="other"}`:   1,
			},
		},
		{
			name:  "invalid UTF-8 does not panic",
			calls: []call{{"we\xffb", "restart", "succeeded", time.Second}},
			want: samples{
				"berth_deploys_total{app=\"we\uFFFDb\",kind=\"restart\",outcome=\"succeeded\"}": 1,
				"berth_deploy_duration_seconds_count{app=\"we\uFFFDb\",kind=\"restart\"}":       1,
				"berth_deploy_duration_seconds_sum{app=\"we\uFFFDb\",kind=\"restart\"}":         1,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := New(Sources{})
			for _, c := range tt.calls {
				m.DeployFinished(c.app, c.kind, c.outcome, c.took)
			}
			got := scrape(t, serve(t, m))
			got = got.only("berth_deploys_").merge(got.only("berth_rollbacks_"),
				got.only("berth_deploy_duration_seconds_count"), got.only("berth_deploy_duration_seconds_sum"))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("series (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckResultAndAlerts(t *testing.T) {
	t.Parallel()
	m := New(Sources{})
	// Recorders are called from many monitors at once.
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			m.CheckResult("web", "blue", "ready", "readiness", true, 3*time.Millisecond)
			m.CheckResult("web", "blue", "answers", "functional", false, 2*time.Second)
			m.AlertDelivered("webhook", true)
		})
	}
	wg.Wait()
	m.CheckResult("web", "green", "ready", "bogus", true, time.Millisecond)
	m.AlertDelivered("webhook", false)
	m.AlertDelivered("pager", true)

	got := scrape(t, serve(t, m))
	want := samples{
		`berth_health_checks_total{app="web",check="ready",color="blue",result="ok",role="readiness"}`:        10,
		`berth_health_checks_total{app="web",check="answers",color="blue",result="failed",role="functional"}`: 10,
		`berth_health_checks_total{app="web",check="ready",color="green",result="ok",role="other"}`:           1,
		`berth_health_check_duration_seconds_count{app="web",check="ready"}`:                                  11,
		`berth_health_check_duration_seconds_count{app="web",check="answers"}`:                                10,
		`berth_health_check_duration_seconds_bucket{app="web",check="ready",le="0.001"}`:                      1,
		`berth_health_check_duration_seconds_bucket{app="web",check="ready",le="0.005"}`:                      11,
		`berth_health_check_duration_seconds_bucket{app="web",check="answers",le="1"}`:                        0,
		`berth_health_check_duration_seconds_bucket{app="web",check="answers",le="2.5"}`:                      10,
		`berth_alerts_delivered_total{result="delivered",sink="webhook"}`:                                     10,
		`berth_alerts_delivered_total{result="failed",sink="webhook"}`:                                        1,
		`berth_alerts_delivered_total{result="delivered",sink="other"}`:                                       1,
	}
	got = got.only("berth_health_checks_").merge(got.only("berth_health_check_duration_seconds_count"),
		got.only("berth_alerts_"), pick(got, want, "berth_health_check_duration_seconds_bucket"))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
}

// pick returns the series of got with prefix that want names (missing
// ones as -1, so the diff shows them).
func pick(got, want samples, prefix string) samples {
	out := samples{}
	for k := range want.only(prefix) {
		v, ok := got[k]
		if !ok {
			v = -1
		}
		out[k] = v
	}
	return out
}

// Two Metrics live side by side (each test builds its own), and neither
// touches Prometheus' default registry.
func TestOwnRegistry(t *testing.T) {
	t.Parallel()
	a, b := New(Sources{Version: "a"}), New(Sources{Version: "b"})
	a.AlertDelivered("file", true)
	b.AlertDelivered("file", false)
	got := scrape(t, serve(t, a)).only("berth_alerts_").merge(scrape(t, serve(t, a)).only("berth_build_info"))
	want := samples{
		`berth_alerts_delivered_total{result="delivered",sink="file"}`: 1,
		`berth_build_info{version="a"}`:                                1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series of a (-want +got):\n%s", diff)
	}
	fams, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if strings.HasPrefix(f.GetName(), "berth_") {
			t.Errorf("default registry holds %s", f.GetName())
		}
	}
}
