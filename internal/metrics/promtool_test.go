package metrics

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
	"github.com/berth-dev/berth/internal/runtime"
)

// fullMetrics returns Metrics with every source set and every push-side
// metric recorded, served on loopback: the whole exposition.
func fullMetrics(t *testing.T) (*Metrics, string) {
	t.Helper()
	hold := make(chan struct{})
	close(hold)
	p := startProxy(t)
	p.Switch(proxy.Target{Name: "blue", Addr: statusBackend(t, hold)})
	m := New(Sources{
		Proxy: proxySource{app: "web", p: p, colors: []string{"blue", "green"}},
		Instances: instanceList{sts: []runtime.Status{
			{ID: "web.blue", App: "web", State: runtime.StateRunning, Restarts: 1, LogLines: 10},
		}},
		Disks:   diskList{{Path: "/var/lib/berth", UsedRatio: 0.5, FreeBytes: 1e9, TimeToFull: time.Hour}},
		Version: "test",
	})
	c := newTestClient(t)
	for range 3 {
		get(t, c, "http://"+p.Addr().String()+"/?status=200")
	}
	m.DeployFinished("web", "deploy", "succeeded", 5*time.Second)
	m.DeployFinished("web", "deploy", "rolled-back", 30*time.Second)
	m.CheckResult("web", "blue", "ready", "readiness", true, time.Millisecond)
	m.AlertDelivered("webhook", false)
	return m, serve(t, m)
}

// TestPromtoolCheckMetrics lints the exposition with Prometheus' own
// checker (names, units, help, types). CI installs the Debian package
// "prometheus", which ships promtool.
func TestPromtoolCheckMetrics(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not found: install the Debian package \"prometheus\" (apt-get install -y prometheus) to lint the exposition")
	}
	// The checker must reject what it should, or a pass below means nothing.
	bad := "# HELP berth_x_seconds x\n# TYPE berth_x_seconds counter\nberth_x_seconds 1\n"
	if out, err := promtoolCheck(promtool, bad); err == nil {
		t.Fatalf("promtool accepted a counter without _total:\n%s", out)
	}

	_, url := fullMetrics(t)
	text := fetch(t, url)
	for _, name := range []string{
		"berth_build_info", "berth_proxy_requests_total", "berth_proxy_request_duration_seconds_bucket",
		"berth_instance_up", "berth_disk_used_ratio", "berth_deploys_total", "berth_rollbacks_total",
		"berth_health_checks_total", "berth_alerts_delivered_total",
	} {
		if !strings.Contains(text, "\n"+name) {
			t.Errorf("exposition lacks %s; promtool would not see it", name)
		}
	}
	out, err := promtoolCheck(promtool, text)
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	if out != "" {
		t.Errorf("promtool check metrics reported:\n%s", out)
	}
}

// promtoolCheck runs "promtool check metrics" on an exposition.
func promtoolCheck(promtool, text string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}
