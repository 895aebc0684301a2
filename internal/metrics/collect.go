package metrics

import (
	"context"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth-dev/berth/internal/runtime"
)

// desc builds the description of a scrape-time metric.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// Scrape-time descriptions. They are built per scrape (a few dozen small
// allocations every few seconds) so that Metrics holds no shared tables.
type descs struct {
	requests, connErrors, refused, forwarded, inFlight, latency *prometheus.Desc
	up, restarts, logLines, logBytes, logDropped                *prometheus.Desc
	diskUsed, diskFree, inodesUsed, timeToFull                  *prometheus.Desc
	sourceUp                                                    *prometheus.Desc
}

func newDescs() descs {
	ac := []string{"app", "color"}
	return descs{
		requests:   desc("berth_proxy_requests_total", "HTTP responses the proxy sent for a color, by status class (2xx, 3xx, 4xx, 5xx); the proxy's own 502 and 504 answers included.", "app", "color", "class"),
		connErrors: desc("berth_proxy_connection_errors_total", "Failures to dial or talk to a color's backend, retried ones included.", ac...),
		refused:    desc("berth_proxy_refused_total", "Requests (HTTP) or connections (TCP) whose dial to a color failed and which the previous color answered instead (the proxy's fallback); they are in this color's connection errors and forwarded count, and in the other color's answers.", ac...),
		forwarded:  desc("berth_proxy_forwarded_total", "Requests (HTTP) or connections (TCP) the proxy sent to a color, counted when they start.", ac...),
		inFlight:   desc("berth_proxy_in_flight", "Requests, streams and connections open to a color now.", ac...),
		latency:    desc("berth_proxy_request_duration_seconds", "Time to the response header (HTTP) or to connect to the backend (TCP). Bounds are the proxy's own bucket bounds nearest to the usual ones; the sum is estimated from bucket midpoints.", ac...),
		up:         desc("berth_instance_up", "1 when the instance's process is running, 0 when it is in backoff, crash loop, exited or stopped.", ac...),
		restarts:   desc("berth_instance_restarts_total", "Times the runtime restarted the instance after it exited (per instance incarnation: a new deploy starts again from 0).", ac...),
		logLines:   desc("berth_log_lines_total", "Lines of the instance's stdout and stderr written to its log.", ac...),
		logBytes:   desc("berth_log_bytes_total", "Bytes of the instance's stdout and stderr, newlines included.", ac...),
		logDropped: desc("berth_log_dropped_lines_total", "Lines of the instance's output dropped because the log writer could not keep up or the disk was full (on_full = \"drop\").", ac...),
		diskUsed:   desc("berth_disk_used_ratio", "Used share of the filesystem holding the watched path, 0 to 1.", "path"),
		diskFree:   desc("berth_disk_free_bytes", "Bytes available to unprivileged users on the filesystem holding the watched path.", "path"),
		inodesUsed: desc("berth_disk_inodes_used_ratio", "Used share of the inodes of the filesystem holding the watched path, 0 to 1.", "path"),
		timeToFull: desc("berth_disk_time_to_full_seconds", "Projected time until the filesystem is full at its recent growth rate; 0 when it is not filling.", "path"),
		sourceUp:   desc("berth_scrape_source_up", "1 when this scrape could read the source (proxy, instances, disks), 0 when it failed or timed out; absent when the source is not configured.", "source"),
	}
}

// snapshot is an unchecked collector that reads the sources once. A new
// one is made per scrape, carrying that scrape's context.
type snapshot struct {
	m   *Metrics
	ctx context.Context
}

// Describe sends nothing: the series depend on the sources' contents, so
// the collector is unchecked.
func (s *snapshot) Describe(chan<- *prometheus.Desc) {}

// Collect reads every configured source.
func (s *snapshot) Collect(ch chan<- prometheus.Metric) {
	d := newDescs()
	src := s.m.src
	if src.Proxy != nil {
		s.collectProxies(ch, d, src.Proxy.ProxyStats())
		ch <- gauge(d.sourceUp, 1, "proxy")
	}
	if src.Instances != nil {
		ok := s.collectInstances(ch, d)
		ch <- gauge(d.sourceUp, boolFloat(ok), "instances")
	}
	if src.Disks != nil {
		for _, r := range src.Disks.Readings() {
			p := clean(r.Path)
			ch <- gauge(d.diskUsed, r.UsedRatio, p)
			ch <- gauge(d.diskFree, r.FreeBytes, p)
			ch <- gauge(d.inodesUsed, r.InodesUsedRatio, p)
			ch <- gauge(d.timeToFull, r.TimeToFull.Seconds(), p)
		}
		ch <- gauge(d.sourceUp, 1, "disks")
	}
	if src.Hosts != nil {
		ch <- gauge(d.sourceUp, boolFloat(s.collectHosts(ch, src.Hosts)), "hosts")
	}
}

func (s *snapshot) collectProxies(ch chan<- prometheus.Metric, d descs, samples []ProxySample) {
	for _, p := range samples {
		app, color := clean(p.App), clean(p.Color)
		st := p.Stats
		for _, c := range [...]struct {
			class string
			n     uint64
		}{{"2xx", st.Status2xx}, {"3xx", st.Status3xx}, {"4xx", st.Status4xx}, {"5xx", st.Status5xx}} {
			ch <- counter(d.requests, float64(c.n), app, color, c.class)
		}
		ch <- counter(d.connErrors, float64(st.ConnErrors), app, color)
		ch <- counter(d.refused, float64(st.Refused), app, color)
		ch <- counter(d.forwarded, float64(st.Requests), app, color)
		ch <- gauge(d.inFlight, float64(st.InFlight), app, color)
		buckets, count, sum := latencyHistogram(st.Latency, s.m.latency)
		ch <- prometheus.MustNewConstHistogram(d.latency, count, sum, buckets, app, color)
	}
}

// collectInstances reports every instance; false when the runtime could
// not be read within the scrape's time.
func (s *snapshot) collectInstances(ch chan<- prometheus.Metric, d descs) bool {
	sts, err := listBounded(s.ctx, s.m.src.Instances)
	if err != nil {
		return false
	}
	for _, st := range sts {
		app, color := instanceLabels(st)
		ch <- gauge(d.up, boolFloat(st.State == runtime.StateRunning), app, color)
		ch <- counter(d.restarts, float64(st.Restarts), app, color)
		ch <- counter(d.logLines, float64(st.LogLines), app, color)
		ch <- counter(d.logBytes, float64(st.LogBytes), app, color)
		ch <- counter(d.logDropped, float64(st.LogDropped), app, color)
	}
	return true
}

// listBounded calls src.List and gives up when ctx ends, even if List
// does not watch ctx: a stuck keeper must not hang the scrape. The call
// then finishes in the background and its answer is discarded.
func listBounded(ctx context.Context, src Instances) ([]runtime.Status, error) {
	type answer struct {
		sts []runtime.Status
		err error
	}
	done := make(chan answer, 1)
	go func() {
		sts, err := src.List(ctx)
		done <- answer{sts, err}
	}()
	select {
	case a := <-done:
		if a.err != nil {
			return nil, fmt.Errorf("listing instances: %w", a.err)
		}
		return a.sts, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("listing instances: %w", context.Cause(ctx))
	}
}

// instanceLabels splits an instance ID "<app>.<slot>" into its labels:
// the color label is the slot ("blue", "blue.2"), so the instances of a
// color are told apart. The ID starts with the status's app when it has
// one; otherwise the first dot splits (app names have no dots).
func instanceLabels(st runtime.Status) (app, color string) {
	if slot, ok := strings.CutPrefix(st.ID, st.App+"."); ok && st.App != "" {
		return clean(st.App), clean(slot)
	}
	app, color, _ = strings.Cut(st.ID, ".")
	if st.App != "" {
		app = st.App
	}
	return clean(app), clean(color)
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
