package daemon

import (
	"log/slog"
	"net"

	"github.com/berth-dev/berth/internal/systemd"
)

// handover gives each app's route the socket systemd passed for it
// (socket activation): the daemon hands a duplicate to the front, which
// serves it, and closes its own; systemd keeps one, so the socket never
// closes across restarts of the daemon or the front. Safe for concurrent
// use.
type handover struct {
	socks *systemd.Sockets
	log   *slog.Logger
}

// listener returns the socket systemd passed for app on addr, or nil when
// it passed none, so that the front binds the address itself.
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
		return l
	}
}
