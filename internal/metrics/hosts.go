package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Hosts reports the front door's hosts at scrape time, with the scrape's
// bounded context; implementations must be safe for concurrent use.
type Hosts interface {
	HostSamples(ctx context.Context) ([]HostSample, error)
}

// HostSample is one front door host's numbers. It is a plain value.
type HostSample struct {
	Host       string
	App        string // the app of the host's shortest path prefix
	Requests   uint64 // cumulative for the front's life
	Errors     uint64 // answers of 500 and above
	CertExpiry time.Time
	CertFailed bool // the last attempt to obtain or renew failed
}

type hostDescs struct{ requests, errors, expiry, failed *prometheus.Desc }

func newHostDescs() hostDescs {
	return hostDescs{
		requests: desc("berth_front_host_requests_total", "Requests the front door forwarded for a host name (since the front started).", "host", "app"),
		errors:   desc("berth_front_host_errors_total", "Answers of 500 and above the front door sent for a host name, the proxy's own 502/503/504 included.", "host", "app"),
		expiry:   desc("berth_front_cert_expiry_timestamp_seconds", "Unix time at which the certificate served for a host expires; absent while it has none.", "host"),
		failed:   desc("berth_front_cert_failed", "1 when the last attempt to obtain or renew a host's certificate failed (the CA's text is in the cert.failed event), else 0.", "host"),
	}
}

// collectHosts reads the front door's hosts; false when it could not.
func (s *snapshot) collectHosts(ch chan<- prometheus.Metric, src Hosts) bool {
	samples, err := src.HostSamples(s.ctx)
	if err != nil {
		return false
	}
	d := newHostDescs()
	for _, h := range samples {
		host, app := clean(h.Host), clean(h.App)
		ch <- counter(d.requests, float64(h.Requests), host, app)
		ch <- counter(d.errors, float64(h.Errors), host, app)
		if !h.CertExpiry.IsZero() {
			ch <- gauge(d.expiry, float64(h.CertExpiry.Unix()), host)
		}
		ch <- gauge(d.failed, boolFloat(h.CertFailed), host)
	}
	return true
}
