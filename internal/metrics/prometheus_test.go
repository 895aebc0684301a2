package metrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestPrometheusScrapes runs a real Prometheus server on loopback that
// scrapes the handler every second, and waits until its query API returns
// berth's series. CI installs the Debian package "prometheus".
func TestPrometheusScrapes(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not found: install the Debian package \"prometheus\" (apt-get install -y prometheus) to run a real scrape")
	}
	m, target := fullMetrics(t)
	m.DeployFinished("web", "rollback", "succeeded", time.Second)
	targetURL, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	conf := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: berth
    metrics_path: /metrics
    static_configs:
      - targets: [%q]
`, targetURL.Host)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	api := startPrometheus(t, bin, cfg, filepath.Join(dir, "data"))

	tests := []struct {
		name, query string
		labels      map[string]string
		value       string
	}{
		{"build info", "berth_build_info", map[string]string{"job": "berth", "version": "test"}, "1"},
		{"target up", `up{job="berth"}`, nil, "1"},
		{"manual rollback", `berth_rollbacks_total{reason="manual"}`, map[string]string{"app": "web"}, "1"},
		{"proxy requests", `berth_proxy_requests_total{class="2xx",color="blue"}`, map[string]string{"app": "web"}, "3"},
		{"latency histogram", `berth_proxy_request_duration_seconds_count{color="blue"}`, nil, "3"},
	}
	// The first query waits for the first scrape; the others then hold.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := waitQuery(t, api, tt.query, 30*time.Second)
			for k, v := range tt.labels {
				if got.Metric[k] != v {
					t.Errorf("%s: label %s = %q, want %q (series %v)", tt.query, k, got.Metric[k], v, got.Metric)
				}
			}
			if v, _ := got.Value[1].(string); v != tt.value {
				t.Errorf("%s = %v, want %s", tt.query, got.Value[1], tt.value)
			}
		})
	}
}

// startPrometheus runs the prometheus binary on a free loopback port until
// the test ends, then stops it by its pid. It returns the API's base URL.
func startPrometheus(t *testing.T, bin, cfg, data string) string {
	t.Helper()
	var out syncBuffer
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		cmd := exec.Command(bin,
			"--config.file="+cfg,
			"--storage.tsdb.path="+data,
			"--web.listen-address=127.0.0.1:"+strconv.Itoa(port),
			"--log.level=warn",
		)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting prometheus: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		}
		base := "http://127.0.0.1:" + strconv.Itoa(port)
		if waitReady(base, exited, 30*time.Second) {
			t.Cleanup(stop)
			return base
		}
		stop()
		if attempt == 2 { // the free port may have been taken in between
			t.Fatalf("prometheus did not become ready:\n%s", out.String())
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitReady polls Prometheus' readiness endpoint; false when it exits or
// the time runs out.
func waitReady(base string, exited <-chan struct{}, within time.Duration) bool {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if resp, err := c.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// series is one element of an instant query's result vector.
type series struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// waitQuery runs an instant query until it returns exactly one series.
func waitQuery(t *testing.T, api, query string, within time.Duration) series {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		resp, err := c.Get(api + "/api/v1/query?query=" + url.QueryEscape(query))
		if err == nil {
			var body struct {
				Status string `json:"status"`
				Data   struct {
					Result []series `json:"result"`
				} `json:"data"`
			}
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			last = fmt.Sprintf("status %s, %d series, err %v", body.Status, len(body.Data.Result), err)
			if err == nil && body.Status == "success" && len(body.Data.Result) == 1 {
				return body.Data.Result[0]
			}
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("query %s: no single series within %v; last answer: %s", query, within, last)
	return series{}
}

// syncBuffer collects a child's output from its two pipes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
