// Package alert delivers alerts to sinks (the event journal, a JSON-lines
// file, a webhook, a command) with fire-once / resolve-once semantics,
// bounded queues and retries, so a slow or broken sink never blocks the
// code that raises an alert.
package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/config"
)

// Severities, and the states a delivered message carries.
const (
	SeverityWarning  = config.SeverityWarning
	SeverityCritical = config.SeverityCritical

	StateFiring   = "firing"
	StateResolved = "resolved"
)

// Alert is one condition that needs a human. Key identifies the condition
// ("disk:/var/lib/berth:used"): the same Key and Severity fire once until
// resolved. A plain value, safe for concurrent use once built.
type Alert struct {
	Key      string
	Severity string // warning | critical
	App      string // "" for host-wide alerts
	Summary  string
	Details  map[string]string
	Time     time.Time // zero: set by Fire
}

// Message is what a sink delivers: an alert firing, or its resolution.
type Message struct {
	State string // firing | resolved
	Alert Alert
	Host  string
}

// Option tunes a Dispatcher.
type Option func(*Dispatcher)

// WithBackoff sets the first retry delay and its cap (defaults 1s and 30s);
// the delay doubles after each failed attempt.
func WithBackoff(first, limit time.Duration) Option {
	return func(d *Dispatcher) { d.backoff, d.maxBackoff = first, limit }
}

// WithQueueSize sets how many messages wait per sink (default 256) before
// new ones are dropped and counted.
func WithQueueSize(n int) Option {
	return func(d *Dispatcher) { d.queueSize = n }
}

// WithDelivered sets fn to be told the end of every delivery: the sink's
// kind ("journal", "webhook", "file", "exec") and whether it got through
// (metrics count them). fn must not block.
func WithDelivered(fn func(sink string, ok bool)) Option {
	return func(d *Dispatcher) { d.delivered = fn }
}

// WithClock sets the clock that stamps alerts (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(d *Dispatcher) { d.now = now }
}

// Dispatcher deduplicates alerts and hands them to every sink's queue; Run
// delivers. It is safe for concurrent use.
type Dispatcher struct {
	log        *slog.Logger
	host       string
	now        func() time.Time
	backoff    time.Duration
	maxBackoff time.Duration
	queueSize  int
	sinks      []*worker
	delivered  func(sink string, ok bool)

	mu     sync.Mutex
	active map[string]Alert // key -> the alert as last fired
	closed bool
}

// New builds a Dispatcher with the journal (when not nil) and the sinks of
// cfg. Nothing is delivered until Run is called.
func New(cfg []config.Alert, journal Journal, logger *slog.Logger, opts ...Option) (*Dispatcher, error) {
	host, _ := os.Hostname()
	d := &Dispatcher{
		log: logger, host: host, now: time.Now,
		backoff: time.Second, maxBackoff: 30 * time.Second, queueSize: 256,
		active: map[string]Alert{},
	}
	for _, o := range opts {
		o(d)
	}
	if journal != nil {
		d.addSink(journalSink{j: journal}, SeverityWarning, 3, 5*time.Second)
	}
	for i, c := range cfg {
		s, err := newSink(i, c)
		if err != nil {
			return nil, err
		}
		d.addSink(s, c.MinSeverity, c.Retries, c.Timeout.Duration)
	}
	return d, nil
}

func (d *Dispatcher) addSink(s sink, minSeverity string, retries int, timeout time.Duration) {
	d.sinks = append(d.sinks, &worker{
		d: d, s: s, critOnly: minSeverity == SeverityCritical,
		retries: retries, timeout: timeout,
		queue: make(chan Message, d.queueSize),
	})
}

// Fire raises a. It is delivered once per Key and Severity until Resolve;
// a changed severity is delivered again. Fire never blocks on delivery.
func (d *Dispatcher) Fire(a Alert) {
	if a.Time.IsZero() {
		a.Time = d.now()
	}
	d.mu.Lock()
	prev, firing := d.active[a.Key]
	if d.closed || (firing && prev.Severity == a.Severity) {
		d.mu.Unlock()
		return
	}
	d.active[a.Key] = a
	d.enqueue(Message{State: StateFiring, Alert: a, Host: d.host}, prev.Severity == SeverityCritical)
	d.mu.Unlock()
}

// Resolve ends the alert with key, delivering one "resolved" message; a key
// that is not firing is ignored. It never blocks on delivery.
func (d *Dispatcher) Resolve(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, firing := d.active[key]
	if !firing || d.closed {
		return
	}
	delete(d.active, key)
	a.Time = d.now()
	d.enqueue(Message{State: StateResolved, Alert: a, Host: d.host}, a.Severity == SeverityCritical)
}

// Firing returns the alerts now firing, for status pages.
func (d *Dispatcher) Firing() []Alert {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Alert, 0, len(d.active))
	for _, a := range d.active {
		out = append(out, a)
	}
	return out
}

// enqueue offers m to every sink that takes it, without blocking; d.mu is
// held so Close cannot close a queue under it. wasCritical says an earlier
// message of this key was critical, so critical-only sinks hear how it ends.
func (d *Dispatcher) enqueue(m Message, wasCritical bool) {
	for _, w := range d.sinks {
		if w.critOnly && m.Alert.Severity != SeverityCritical && !wasCritical {
			continue
		}
		select {
		case w.queue <- m:
			w.count(func(s *SinkStats) { s.Queued++ })
		default:
			w.count(func(s *SinkStats) { s.Dropped++ })
			w.logOnce("alert queue full; dropping", errors.New("queue full"), m)
		}
	}
}

// Run delivers queued messages until ctx ends (what is still queued then is
// dropped) or until Close, after which it delivers what is queued and
// returns. Each sink is served by its own goroutine, so one slow sink does
// not delay the others.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, w := range d.sinks {
		wg.Go(func() { w.run(ctx) })
	}
	wg.Wait()
	return ctx.Err()
}

// Close stops accepting alerts; Run returns once the queues are delivered.
// It must be called at most once.
func (d *Dispatcher) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	for _, w := range d.sinks {
		close(w.queue)
	}
}

// SinkStats counts one sink's deliveries.
type SinkStats struct {
	Sink      string // "journal", "webhook[0]", "file[1]", "exec[2]"
	Queued    uint64 // messages accepted into the queue
	Delivered uint64
	Retried   uint64 // failed attempts that were retried
	Failed    uint64 // messages given up after every retry
	Dropped   uint64 // messages refused because the queue was full
	LastError string
}

// Stats returns a snapshot of every sink's counts, in configuration order.
func (d *Dispatcher) Stats() []SinkStats {
	out := make([]SinkStats, len(d.sinks))
	for i, w := range d.sinks {
		w.mu.Lock()
		out[i] = w.stats
		out[i].Sink = w.s.name()
		w.mu.Unlock()
	}
	return out
}

// Flat adapts a Dispatcher to callers that raise alerts field by field
// (internal/monitor's Alerter). It is safe for concurrent use.
type Flat struct{ D *Dispatcher }

// Fire raises an alert; see Dispatcher.Fire.
func (f Flat) Fire(key, severity, app, summary string, details map[string]string) {
	f.D.Fire(Alert{Key: key, Severity: severity, App: app, Summary: summary, Details: details})
}

// Resolve ends an alert; see Dispatcher.Resolve.
func (f Flat) Resolve(key string) { f.D.Resolve(key) }

func (m Message) String() string {
	return fmt.Sprintf("%s %s %s", m.State, m.Alert.Severity, m.Alert.Key)
}
