package deploy

import (
	"context"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/proxy"
	"github.com/berth-dev/berth/internal/spec"
)

// nopProxy is a Proxy that steers nothing.
type nopProxy struct{}

func (nopProxy) Switch(proxy.Target) proxy.Target                { return proxy.Target{} }
func (nopProxy) SwitchSet(string, []proxy.Member) proxy.Target   { return proxy.Target{} }
func (nopProxy) Live() proxy.Target                              { return proxy.Target{} }
func (nopProxy) LiveSet() []proxy.Member                         { return nil }
func (nopProxy) Stats(string) proxy.Stats                        { return proxy.Stats{} }
func (nopProxy) Drain(context.Context, string) proxy.DrainResult { return proxy.DrainResult{} }
func (nopProxy) Pause(proxy.PauseMode)                           {}
func (nopProxy) Resume()                                         {}

// countingFront records the routes asked of it without binding anything.
type countingFront struct{ routed []string }

func (f *countingFront) Route(app string, _ spec.Service) (Proxy, error) {
	f.routed = append(f.routed, app)
	return nopProxy{}, nil
}
func (f *countingFront) Remove(string) {}
func (f *countingFront) Close() error  { return nil }

// TestRegistryNamesTheAppHoldingTheAddress: a second app on the same port,
// written the same or another way that takes it too, is refused naming the
// first app, and the front is never asked to bind it.
func TestRegistryNamesTheAppHoldingTheAddress(t *testing.T) {
	f := &countingFront{}
	r := newRegistry(f)
	if _, err := r.ensure("api", &spec.Service{Listen: "127.0.0.1:8080"}); err != nil {
		t.Fatal(err)
	}
	for _, listen := range []string{"127.0.0.1:8080", ":8080", "0.0.0.0:8080", "localhost:8080", "[::]:8080"} {
		_, err := r.ensure("web", &spec.Service{Listen: listen})
		if err == nil || !strings.Contains(err.Error(), "app api already listens on 127.0.0.1:8080") {
			t.Errorf("web on %s: %v, want a refusal naming app api", listen, err)
		}
	}
	for _, listen := range []string{"127.0.0.1:8081", "127.0.0.2:8080", "[::1]:8080"} {
		if _, err := r.ensure("web-"+listen, &spec.Service{Listen: listen}); err != nil {
			t.Errorf("%s: %v, want it routed (another port or host)", listen, err)
		}
	}
	if _, err := r.ensure("api", &spec.Service{Listen: "127.0.0.1:8080", Protocol: "tcp"}); err != nil {
		t.Errorf("api moving to tcp on its own address: %v", err)
	}
	if len(f.routed) != 5 {
		t.Errorf("front asked to route %q, want api, the three others and api again", f.routed)
	}
}
