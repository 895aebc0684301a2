package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The daemon's admin listener exposes Prometheus metrics about real
// traffic and deploys, and promtool accepts the exposition.
func TestMetricsAfterDeploys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	e.mustDeploy(app{name: "metered", version: "v1", mode: "good", listen: port})
	e.waitAnswer(port, "hello from v1")
	c := newClient(5 * time.Second)
	for i := 0; i < 20; i++ {
		if _, _, err := get(c, fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil {
			t.Fatal(err)
		}
	}
	e.mustDeploy(app{name: "metered", version: "v2", mode: "good", listen: port})
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", e.admin))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`berth_proxy_requests_total{app="metered",class="2xx",color="blue"}`,
		`berth_deploys_total{app="metered",kind="deploy",outcome="succeeded"} 2`,
		`berth_health_checks_total{app="metered"`,
		`berth_instance_up{app="metered",color="green"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus): exposition not validated")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestMetricsCountEveryInstance sends requests to an app of 3 instances:
// the metrics of its color count all of them, not only the first
// instance's (which was all they counted).
func TestMetricsCountEveryInstance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	e.mustDeploy(instanceApp("triple", port, 3))
	e.waitAnswer(port, "hello from v1.0")
	c := newClient(5 * time.Second)
	const n = 60
	for range n {
		if code, _, err := get(c, fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil || code != http.StatusOK {
			t.Fatalf("GET: %d %v", code, err)
		}
	}
	color := e.status("triple").Live
	want := fmt.Sprintf(`berth_proxy_requests_total{app="triple",class="2xx",color="%s"} `, color)
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", e.admin))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, want); ok {
			// waitAnswer's requests count too.
			if got, err := strconv.ParseFloat(v, 64); err != nil || got < n {
				t.Errorf("%s%s; want at least %d (the requests this test sent through the 3 instances)", want, v, n)
			}
			return
		}
	}
	t.Errorf("metrics lack %s", want)
}
