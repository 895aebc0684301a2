package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/dashboard"
	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/metrics"
	"github.com/berth-dev/berth/internal/monitor"
	"github.com/berth-dev/berth/internal/proxy"
)

// proxySource reads every app's proxy numbers at scrape time, one sample
// per app and color summed over the color's instances (a rolling or canary
// app has several). The instances of a color are remembered once seen, so
// that a color's sum never goes backwards when its set shrinks.
type proxySource struct {
	eng *deploy.Engine

	mu   sync.Mutex
	seen map[string]map[string]map[string]bool // app, color, slot
}

// healthSource gives the engine the monitor's results; mon is set before
// the control API serves.
type healthSource struct{ mon *monitor.Monitor }

func (s *healthSource) Latest(app, color, release string) (string, bool) {
	return s.mon.Latest(app, color, release)
}

func (s *proxySource) ProxyStats() []metrics.ProxySample {
	type appProxy struct {
		app   string
		p     deploy.Proxy
		slots map[string][]string
	}
	var aps []appProxy
	s.eng.EachProxy(func(app string, p deploy.Proxy) { aps = append(aps, appProxy{app: app, p: p}) })
	// The lock covers the remembered names only, not the reads of the
	// front's numbers: a slow front holds up no other scrape's bookkeeping.
	s.mu.Lock()
	live := map[string]bool{}
	for i := range aps {
		live[aps[i].app] = true
		aps[i].slots = map[string][]string{}
		for c, names := range s.slots(aps[i].app) {
			for n := range names {
				aps[i].slots[c] = append(aps[i].slots[c], n)
			}
		}
	}
	for app := range s.seen {
		if !live[app] {
			delete(s.seen, app) // removed: its counters go with it
		}
	}
	s.mu.Unlock()
	var out []metrics.ProxySample
	for _, ap := range aps {
		for _, c := range []string{deploy.Blue, deploy.Green} {
			var st proxy.Stats
			for _, slot := range ap.slots[c] {
				st = st.Add(ap.p.Stats(slot))
			}
			out = append(out, metrics.ProxySample{App: ap.app, Color: c, Stats: st})
		}
	}
	return out
}

// slots returns the remembered instance names of app by color, the store's
// current ones added. s.mu is held.
func (s *proxySource) slots(app string) map[string]map[string]bool {
	if s.seen == nil {
		s.seen = map[string]map[string]map[string]bool{}
	}
	m := s.seen[app]
	if m == nil {
		m = map[string]map[string]bool{deploy.Blue: {deploy.Blue: true}, deploy.Green: {deploy.Green: true}}
		s.seen[app] = m
	}
	for color, names := range s.eng.Slots(app) {
		if m[color] == nil {
			continue // neither blue nor green
		}
		for _, n := range names {
			m[color][n] = true
		}
	}
	return m
}

// admin serves /metrics and the dashboard on the admin listener (loopback
// by default). A listener that cannot be bound is reported, and the daemon
// runs on: the agents and their traffic matter more than their numbers.
type admin struct {
	srv  *http.Server
	done chan struct{}
	// endStreams cancels every request's context, so the dashboard's event
	// streams end at shutdown instead of holding it for its whole budget.
	endStreams context.CancelFunc
}

func startAdmin(addr string, m *metrics.Metrics, dash *dashboard.Dashboard, log *slog.Logger) *admin {
	if addr == "" {
		return nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("admin listener not started; /metrics and the dashboard are unavailable", "listen", addr, "err", err)
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("/", dash.Handler())
	dash.SetBase("http://" + reachable(l.Addr()))
	base, end := context.WithCancel(context.Background())
	a := &admin{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return base }}, done: make(chan struct{}), endStreams: end}
	go func() {
		defer close(a.done)
		if err := a.srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin listener stopped", "err", err)
		}
	}()
	log.Info("metrics and dashboard on the admin listener", "url", "http://"+l.Addr().String()+"/metrics")
	return a
}

// reachable is addr with an unspecified host (":9100", "[::]:9100")
// replaced by loopback, for a URL a browser on this host can open.
func reachable(addr net.Addr) string {
	ta, ok := addr.(*net.TCPAddr)
	if !ok || !ta.IP.IsUnspecified() {
		return addr.String()
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(ta.Port))
}

func (a *admin) close(ctx context.Context) {
	if a == nil {
		return
	}
	a.endStreams()
	_ = a.srv.Shutdown(ctx)
	<-a.done
}
