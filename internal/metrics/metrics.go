// Package metrics exposes berth's numbers to Prometheus: per app and color
// request counts by status class and latency from the proxies, instance
// restarts and log lines from the runtime, disk usage from the disk
// watcher (all read at scrape time, so the request path pays nothing), and
// deploys, health checks and alert deliveries (counted at those rare
// events by the engine and monitors that see them).
//
// Everything is registered in a registry of its own, never Prometheus'
// default one, and every label value comes from a small, bounded set (apps,
// colors, check names, paths from the config), never release IDs, request
// paths or pids. docs/metrics.md lists every metric.
package metrics

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/berth-dev/berth/internal/proxy"
	"github.com/berth-dev/berth/internal/runtime"
)

// ProxyStats reports the cumulative numbers of every app's proxy, one
// sample per app and color. It is called once per scrape, from the scrape's
// goroutine; implementations must be safe for concurrent use and fast (no
// I/O).
type ProxyStats interface {
	ProxyStats() []ProxySample
}

// ProxySample is one proxy target's numbers. It is a plain value.
type ProxySample struct {
	App   string // the app's name
	Color string // "blue" or "green"
	Stats proxy.Stats
}

// Instances lists the instances the runtime knows. The keeper client (any
// runtime.Runtime) satisfies it as it is. It is called once per scrape
// with a context bounded by Sources.Timeout; implementations must be safe
// for concurrent use.
type Instances interface {
	List(ctx context.Context) ([]runtime.Status, error)
}

// Disks reports the disk watcher's latest readings, one per watched path.
// It is called once per scrape and must not block on the filesystem (a
// dead mount must not hang a scrape): it returns what was last measured.
// Implementations must be safe for concurrent use.
type Disks interface {
	Readings() []DiskReading
}

// DiskReading is the last measurement of one watched path. It is a plain
// value.
type DiskReading struct {
	Path            string        // the watched path, as configured
	UsedRatio       float64       // used bytes / size, 0..1
	FreeBytes       float64       // bytes available to unprivileged users
	InodesUsedRatio float64       // used inodes / inodes, 0..1 (0 where the filesystem has no inode limit)
	TimeToFull      time.Duration // projected time until full at the recent growth rate; 0 = not filling
}

// Sources are what Metrics reads at scrape time. Any source may be nil;
// its metrics are then absent.
type Sources struct {
	Proxy     ProxyStats
	Instances Instances
	Disks     Disks
	Hosts     Hosts // the front door's hosts
	// Version is berth's version, the value of berth_build_info's
	// version label.
	Version string
	// Timeout bounds the reading of the sources in one scrape (the
	// Instances call is the only one that does I/O). Zero means 2s.
	Timeout time.Duration
}

// defaultTimeout bounds a scrape's reading of the sources when
// Sources.Timeout is zero; well under Prometheus' default 10s scrape
// timeout, so a slow keeper costs a few series, not the whole scrape.
const defaultTimeout = 2 * time.Second

// Metrics owns berth's Prometheus registry: the push-side counters the
// engine and monitors increment, and the scrape-time view of the sources.
// All its methods are safe for concurrent use.
type Metrics struct {
	src     Sources
	reg     *prometheus.Registry
	latency []latencyBucket // the proxy latency histogram's downsampling

	deploys        *prometheus.CounterVec
	deployDuration *prometheus.HistogramVec
	rollbacks      *prometheus.CounterVec
	checks         *prometheus.CounterVec
	checkDuration  *prometheus.HistogramVec
	alerts         *prometheus.CounterVec
}

// New returns Metrics reading src at scrape time. It registers the push-side
// metrics, berth_build_info, and the Go runtime and process collectors in a
// registry of its own.
func New(src Sources) *Metrics {
	if src.Timeout <= 0 {
		src.Timeout = defaultTimeout
	}
	m := &Metrics{src: src, reg: prometheus.NewRegistry(), latency: latencyBuckets()}
	m.registerPush()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "berth_build_info",
		Help:        "Always 1; the version label says which berth is running.",
		ConstLabels: prometheus.Labels{"version": clean(src.Version)},
	})
	build.Set(1)
	m.reg.MustRegister(build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler returns the HTTP handler serving the exposition (text format, or
// OpenMetrics when the scraper asks for it). Mount it at /metrics on the
// admin listener. Each request reads the sources once, bounded by the
// request's context and Sources.Timeout.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
			return m.Gather(r.Context())
		})
		// Built per scrape to carry the request's context into Gather;
		// scrapes come every few seconds, so this costs nothing that matters.
		promhttp.HandlerFor(g, promhttp.HandlerOpts{
			// A series that cannot be gathered (a source naming one app
			// and color twice) is left out; the rest is still served.
			// A failed source is not an error: berth_scrape_source_up
			// says which one failed.
			ErrorHandling:     promhttp.ContinueOnError,
			EnableOpenMetrics: true,
		}).ServeHTTP(w, r)
	})
}

// Gather returns the registry's metrics plus one reading of the sources,
// bounded by ctx and by Sources.Timeout.
func (m *Metrics) Gather(ctx context.Context) ([]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(ctx, m.src.Timeout)
	defer cancel()
	scrape := prometheus.NewRegistry()
	if err := scrape.Register(&snapshot{m: m, ctx: ctx}); err != nil {
		return nil, fmt.Errorf("registering the scrape-time collector: %w", err)
	}
	return prometheus.Gatherers{m.reg, scrape}.Gather()
}
