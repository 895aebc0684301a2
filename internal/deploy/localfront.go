package deploy

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/berth-dev/berth/internal/proxy"
	"github.com/berth-dev/berth/internal/spec"
)

// LocalFront serves the apps' proxies inside the calling process: the
// data path dies with it. For tests, embedding, and the daemon under
// systemd socket activation, where systemd holds the sockets. Safe for
// concurrent use.
type LocalFront struct {
	log *slog.Logger
	inh func(app, addr string) net.Listener

	mu     sync.Mutex
	served map[string]*served
	wg     sync.WaitGroup
}

// served is one app's proxy and the goroutine serving it.
type served struct {
	p      *proxy.Proxy
	svc    spec.Service
	cancel context.CancelFunc
	done   chan struct{}
}

// NewLocalFront returns an in-process front. inherited, when not nil,
// returns a listener the process was handed for app on addr (systemd
// socket activation), or nil to bind addr.
func NewLocalFront(log *slog.Logger, inherited func(app, addr string) net.Listener) *LocalFront {
	return &LocalFront{log: log, inh: inherited, served: map[string]*served{}}
}

// Route implements Front.
func (f *LocalFront) Route(app string, svc spec.Service) (Proxy, error) {
	f.mu.Lock()
	cur, ok := f.served[app]
	f.mu.Unlock()
	if ok && cur.svc.Equal(svc) {
		return cur.p, nil
	}
	if svc.Listen == "" {
		return nil, fmt.Errorf("routing %s: hosts without a listen address are served by the front door of `berth front`, not by an in-process front", app)
	}
	var ln net.Listener
	if f.inh != nil {
		ln = f.inh(app, svc.Listen)
	}
	p, err := proxy.New(proxy.Config{
		Listen:         svc.Listen,
		Listener:       ln,
		Protocol:       svc.Protocol,
		RequestTimeout: svc.RequestTimeout.Duration,
		Logger:         f.log.With("app", app),
	})
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return nil, fmt.Errorf("listening on %s for %s: %w", svc.Listen, app, err)
	}
	if ok {
		if live := cur.p.LiveSet(); len(live) > 0 {
			p.SwitchSet(cur.p.Live().Name, live)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{p: p, svc: svc, cancel: cancel, done: make(chan struct{})}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer close(s.done)
		if err := p.Serve(ctx); err != nil && ctx.Err() == nil {
			f.log.Error("proxy stopped", "app", app, "err", err)
		}
	}()
	f.mu.Lock()
	f.served[app] = s
	f.mu.Unlock()
	if ok {
		cur.close()
	}
	return p, nil
}

// Remove implements Front.
func (f *LocalFront) Remove(app string) {
	f.mu.Lock()
	s, ok := f.served[app]
	delete(f.served, app)
	f.mu.Unlock()
	if ok {
		s.close()
	}
}

// Close stops every proxy and waits for them.
func (f *LocalFront) Close() error {
	f.mu.Lock()
	ss := f.served
	f.served = map[string]*served{}
	f.mu.Unlock()
	for _, s := range ss {
		s.close()
	}
	f.wg.Wait()
	return nil
}

func (s *served) close() {
	s.cancel()
	s.p.Close()
	<-s.done
}
