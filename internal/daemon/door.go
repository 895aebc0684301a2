package daemon

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/alert"
	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/front"
	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/metrics"
	"github.com/berth-dev/berth/internal/monitor"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/state"
)

// doorPoll is how often the daemon reads the front door's certificate
// outcomes to turn failures into events and alerts.
const doorPoll = 5 * time.Second

// doorSpec is the front door daemon.toml [front] asks for; certificates
// live under berth's home, where every front finds them again.
func doorSpec(f config.Front, h home.Layout) front.DoorSpec {
	d := front.DoorSpec{HTTP: f.HTTP, HTTPS: f.HTTPS, RedirectHTTP: f.RedirectHTTP}
	if f.ACME.Enabled {
		d.ACME = front.ACMESpec{Email: f.ACME.Email, Directory: f.ACME.Directory, CARoot: f.ACME.CARoot}
	}
	if d != (front.DoorSpec{}) {
		d.Storage = certsDir(h)
	}
	return d
}

// routeSpec is the front's route of svc, its certificate files as ff
// gives them to the front.
func routeSpec(app string, svc spec.Service, ff frontFiles) (front.RouteSpec, error) {
	t, err := ff.routeTLS(app, svc.TLS)
	if err != nil {
		return front.RouteSpec{}, err
	}
	return front.RouteSpec{Listen: svc.Listen, Protocol: svc.Protocol, RequestTimeout: svc.RequestTimeout.Duration,
		Hosts: svc.Hosts, PathPrefix: svc.PathPrefix, TLS: t}, nil
}

// watchCerts journals the front door's certificate failures as
// cert.failed events with the CA's own text and raises one alert per
// host ("cert:<host>"), resolved when the host has a certificate again.
func watchCerts(ctx context.Context, c *front.Client, store *state.Store, alerts monitor.Alerter, log *slog.Logger) {
	seen := map[string]time.Time{} // host -> time of the last failure journaled
	t := time.NewTicker(doorPoll)
	defer t.Stop()
	for {
		if hosts, err := c.DoorStatus(ctx); err == nil {
			for _, h := range hosts {
				reportCert(h, seen, store, alerts, log)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func reportCert(h front.HostStatus, seen map[string]time.Time, store *state.Store, alerts monitor.Alerter, log *slog.Logger) {
	key := "cert:" + h.Host
	app := ""
	if len(h.Apps) > 0 {
		app = h.Apps[0]
	}
	if h.CertError == "" {
		if _, failed := seen[h.Host]; failed {
			delete(seen, h.Host)
			alerts.Resolve(key)
		}
		return
	}
	if at, ok := seen[h.Host]; ok && at.Equal(h.CertErrorAt) {
		return
	}
	seen[h.Host] = h.CertErrorAt
	msg := "certificate for " + h.Host + " failed: " + h.CertError
	if _, err := store.AddEvent(state.Event{Time: time.Now(), App: app, Kind: "cert.failed", Message: msg}); err != nil {
		log.Error("journaling certificate event", "err", err)
	}
	sev := alert.SeverityWarning
	if h.CertExpiry.IsZero() || time.Until(h.CertExpiry) < 7*24*time.Hour {
		sev = alert.SeverityCritical
	}
	alerts.Fire(key, sev, app, msg, map[string]string{"host": h.Host, "ca_error": h.CertError})
}

// Hosts implements deploy.HostsReader: the front door's hosts by app.
func (f *remoteFront) Hosts(ctx context.Context) (map[string][]deploy.HostStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	hosts, err := f.c.DoorStatus(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]deploy.HostStatus{}
	for _, h := range hosts {
		for _, app := range h.Apps {
			out[app] = append(out[app], deploy.HostStatus{Host: h.Host, TLS: h.TLS, Requests: h.Requests,
				Errors: h.Errors, CertExpiry: h.CertExpiry, CertError: h.CertError})
		}
	}
	return out, nil
}

// hostSource gives the metrics the front door's hosts.
type hostSource struct{ c *front.Client }

// HostSamples implements metrics.Hosts.
func (s hostSource) HostSamples(ctx context.Context) ([]metrics.HostSample, error) {
	hosts, err := s.c.DoorStatus(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]metrics.HostSample, 0, len(hosts))
	for _, h := range hosts {
		app := ""
		if len(h.Apps) > 0 {
			app = h.Apps[len(h.Apps)-1]
		}
		out = append(out, metrics.HostSample{Host: h.Host, App: app, Requests: h.Requests, Errors: h.Errors,
			CertExpiry: h.CertExpiry, CertFailed: h.CertError != ""})
	}
	return out, nil
}

// routeWhere names where svc is served, for errors.
func routeWhere(svc spec.Service) string {
	var parts []string
	if svc.Listen != "" {
		parts = append(parts, "listen "+svc.Listen)
	}
	if len(svc.Hosts) > 0 {
		parts = append(parts, "hosts "+strings.Join(svc.Hosts, ", "))
	}
	return strings.Join(parts, "; ")
}
