package daemon

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/systemd"
)

// handover gives each app's proxy the socket systemd passed for it, and at
// exit lets the proxies' requests in flight finish before they are closed:
// it closes those listeners first, so new connections wait in systemd's
// copy of the socket for the next daemon instead of being cut. Safe for
// concurrent use.
type handover struct {
	socks *systemd.Sockets
	log   *slog.Logger
	mu    sync.Mutex
	given []net.Listener
}

// listener is deploy.Config.Inherited; nil when systemd passed nothing, so
// that proxies bind their addresses themselves.
func (h *handover) listener() func(app, addr string) net.Listener {
	if h.socks.Len() == 0 {
		return nil
	}
	return func(app, addr string) net.Listener {
		l, err := h.socks.Listener(app, addr)
		if err != nil {
			h.log.Warn("not using the socket systemd passed; binding instead", "app", app, "err", err)
			return nil
		}
		if l == nil {
			return nil
		}
		h.log.Info("serving the proxy listener from systemd", "app", app, "addr", l.Addr().String())
		h.mu.Lock()
		h.given = append(h.given, l)
		h.mu.Unlock()
		return l
	}
}

// handoverSettle is how long no request may be in flight before the
// proxies are closed: a connection accepted just before its listener
// closed has its request read within it.
const handoverSettle = 100 * time.Millisecond

// finish stops accepting on the sockets systemd holds and waits, until ctx
// ends, for the requests in flight on every live target to finish.
func (h *handover) finish(ctx context.Context, eng *deploy.Engine) {
	h.mu.Lock()
	given := h.given
	h.given = nil
	h.mu.Unlock()
	if len(given) == 0 {
		return
	}
	for _, l := range given {
		_ = l.Close() // a duplicate: systemd's socket keeps listening
	}
	start := time.Now()
	var quiet time.Time // since when nothing was in flight
	for ctx.Err() == nil {
		switch {
		case h.anyInFlight(eng):
			quiet = time.Time{}
		case quiet.IsZero():
			quiet = time.Now()
		case time.Since(quiet) >= handoverSettle:
			h.log.Info("proxies handed over to systemd's sockets", "waited", time.Since(start).Round(time.Millisecond))
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
	h.log.Warn("requests still in flight when the handover budget ran out: they are cut")
}

func (h *handover) anyInFlight(eng *deploy.Engine) bool {
	busy := false
	eng.EachProxy(func(_ string, p deploy.Proxy) {
		if t := p.Live(); t.Name != "" && p.Stats(t.Name).InFlight > 0 {
			busy = true
		}
	})
	return busy
}
