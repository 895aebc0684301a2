package front

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// HostStatus is what the front door reports of one host name (the
// door_status operation): for `berth status`, the metrics, and the
// daemon's certificate events and alerts.
type HostStatus struct {
	Host     string   `json:"host"`
	Apps     []string `json:"apps"` // by path prefix, longest first
	TLS      string   `json:"tls"`  // acme, off or file
	Requests uint64   `json:"requests"`
	Errors   uint64   `json:"errors"` // answers of 500 and above
	// CertExpiry is the expiry of the certificate served for the host;
	// zero when it has none (yet).
	CertExpiry time.Time `json:"cert_expiry,omitzero"`
	// CertError is the CA's text of the last failure to obtain or renew
	// the certificate, or why the certificate files did not load; ""
	// after a success.
	CertError   string    `json:"cert_error,omitempty"`
	CertErrorAt time.Time `json:"cert_error_at,omitzero"`
	Renewals    int       `json:"renewals,omitempty"`
}

// hostCounter counts one host's requests; lock-free on the request path.
type hostCounter struct {
	requests, errors atomic.Uint64
}

// hostCounters holds a counter per host for the front's life.
type hostCounters struct{ m sync.Map } // host -> *hostCounter

func (h *hostCounters) get(host string) *hostCounter {
	if c, ok := h.m.Load(host); ok {
		return c.(*hostCounter)
	}
	// A copy: the lane's host points into its read buffer.
	c, _ := h.m.LoadOrStore(strings.Clone(host), &hostCounter{})
	return c.(*hostCounter)
}

// status returns every host of the table, sorted.
func (d *door) status() []HostStatus {
	t := d.table.Load()
	d.mu.Lock()
	c := d.certs
	d.mu.Unlock()
	out := make([]HostStatus, 0, len(t.hosts))
	for host, rs := range t.hosts {
		hs := HostStatus{Host: host, TLS: rs[0].mode}
		for _, r := range rs {
			hs.Apps = append(hs.Apps, r.app)
			if err := t.bad[r.app]; err != nil {
				hs.CertError = err.Error()
			}
			if r.cert != nil && r.cert.Leaf != nil {
				hs.CertExpiry = r.cert.Leaf.NotAfter
			}
		}
		cnt := d.hosts.get(host)
		hs.Requests, hs.Errors = cnt.requests.Load(), cnt.errors.Load()
		switch {
		case hs.TLS == tlsACME && c != nil:
			st, exp := c.status(host)
			hs.CertExpiry, hs.CertError, hs.CertErrorAt, hs.Renewals = exp, st.LastError, st.ErrorAt, st.Renewals
		case hs.TLS == tlsACME:
			hs.CertError = `tls = "acme", but daemon.toml has no [front.acme] (or its CA could not be set up; see the front's log)`
		}
		out = append(out, hs)
	}
	slices.SortFunc(out, func(a, b HostStatus) int { return strings.Compare(a.Host, b.Host) })
	return out
}
