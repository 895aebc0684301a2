package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-dev/berth/internal/spec"
)

// hostClash refuses app's service when another app already claims one of
// its front door routes (the same host under the same path prefix), naming
// that app, before anything of the deploy has started.
func hostClash(app string, svc *spec.Service, other string, o *spec.Service) error {
	for _, mine := range svc.Routes() {
		for _, theirs := range o.Routes() {
			if mine == theirs {
				return fmt.Errorf("serving host %s%s for %s: app %s already serves it; give one of them another host or path_prefix",
					mine.Host, trimRoot(mine.Prefix), app, other)
			}
		}
	}
	return nil
}

func trimRoot(prefix string) string {
	if prefix == "/" {
		return ""
	}
	return prefix
}

// HostStatus is one front door host of an app, as the front reports it.
type HostStatus struct {
	Host       string    `json:"host"`
	TLS        string    `json:"tls"` // acme, off or file
	Requests   uint64    `json:"requests"`
	Errors     uint64    `json:"errors"`
	CertExpiry time.Time `json:"cert_expiry,omitzero"` // zero: no certificate (yet)
	CertError  string    `json:"cert_error,omitempty"` // the CA's text of the last failure
}

// HostsReader is implemented by a Front that serves hosts: it reports
// each host with the apps it routes to.
type HostsReader interface {
	Hosts(ctx context.Context) (map[string][]HostStatus, error) // by app
}

// addHosts fills the apps' front door hosts when the front reports them.
func (e *Engine) addHosts(ctx context.Context, apps []AppStatus) {
	hr, ok := e.px.front.(HostsReader)
	if !ok {
		return
	}
	byApp, err := hr.Hosts(ctx)
	if err != nil {
		e.log.Warn("reading the front door's hosts", "err", err)
		return
	}
	for i := range apps {
		apps[i].Hosts = byApp[apps[i].Name]
	}
}
