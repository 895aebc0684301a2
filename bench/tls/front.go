package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/bench/proxy/peers"
	"github.com/berth-dev/berth/internal/front"
	"github.com/berth-dev/berth/internal/proxy"
)

// berthFront is a `berth front` process serving the app on "localhost"
// through its front door's https listener.
type berthFront struct {
	addr    string
	c       *front.Client
	backend string
}

func startFront(ctx context.Context, dir, name, backend, certFile, keyFile string) (*berthFront, *peers.Proc, error) {
	addr, err := peers.FreePort()
	if err != nil {
		return nil, nil, err
	}
	runDir := filepath.Join(dir, name)
	p, err := peers.Start(dir, name, "", "", []string{filepath.Join(dir, "berth"), "front", "--run-dir", runDir})
	if err != nil {
		return nil, nil, err
	}
	var c *front.Client
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err = front.Dial(runDir, nil); err == nil {
			break
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, nil, fmt.Errorf("berth front does not answer: %w", err)
		}
	}
	bf := &berthFront{addr: addr, c: c, backend: backend}
	if err := c.Door(ctx, front.DoorSpec{HTTPS: addr}); err != nil {
		p.Stop()
		return nil, nil, err
	}
	if err := bf.routeMany(ctx, []string{"localhost"}, certFile, keyFile); err != nil {
		p.Stop()
		return nil, nil, err
	}
	if err := waitTLS(ctx, addr); err != nil {
		p.Stop()
		return nil, nil, err
	}
	return bf, p, nil
}

// routeMany routes one app per host, each live on the backend.
func (b *berthFront) routeMany(ctx context.Context, hosts []string, certFile, keyFile string) error {
	for i, h := range hosts {
		app := fmt.Sprintf("app%02d", i)
		if h == "localhost" {
			app = "app"
		}
		r, err := b.c.Route(ctx, app, front.RouteSpec{Protocol: "http", Hosts: []string{h},
			TLS: front.TLSSpec{Mode: "file", Cert: certFile, Key: keyFile}}, nil)
		if err != nil {
			return fmt.Errorf("routing %s: %w", h, err)
		}
		r.Switch(proxy.Target{Name: "blue", Addr: b.backend})
	}
	return nil
}

// waitTLS waits until addr completes a TLS handshake for localhost.
func waitTLS(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: time.Second}, Config: &tls.Config{ServerName: "localhost", InsecureSkipVerify: true}}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for TLS on %s: %w (last error %v)", addr, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
