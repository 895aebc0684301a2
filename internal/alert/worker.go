package alert

import (
	"context"
	"strings"
	"sync"
	"time"
)

// worker delivers one sink's queue, retrying each message with backoff.
type worker struct {
	d        *Dispatcher
	s        sink
	critOnly bool
	retries  int
	timeout  time.Duration
	queue    chan Message

	mu      sync.Mutex
	stats   SinkStats
	failing bool // a failure was logged and no delivery has succeeded since
}

func (w *worker) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-w.queue:
			if !ok {
				return
			}
			w.deliver(ctx, m)
		}
	}
}

// done reports the end of one delivery to the dispatcher's hook.
func (w *worker) done(ok bool) {
	if w.d.delivered != nil {
		kind, _, _ := strings.Cut(w.s.name(), "[")
		w.d.delivered(kind, ok)
	}
}

// deliver tries m up to 1+retries times; the delay doubles each time.
func (w *worker) deliver(ctx context.Context, m Message) {
	delay := w.d.backoff
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, w.timeout)
		err := w.s.send(actx, m)
		cancel()
		if err == nil {
			w.done(true)
			w.count(func(s *SinkStats) { s.Delivered++ })
			w.recovered()
			return
		}
		if attempt >= w.retries || ctx.Err() != nil {
			w.done(false)
			w.count(func(s *SinkStats) { s.Failed++; s.LastError = err.Error() })
			w.logOnce("delivering alert failed; giving up on this message", err, m)
			return
		}
		w.count(func(s *SinkStats) { s.Retried++; s.LastError = err.Error() })
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			w.count(func(s *SinkStats) { s.Failed++ })
			return
		case <-t.C:
		}
		delay = min(2*delay, w.d.maxBackoff)
	}
}

func (w *worker) count(f func(*SinkStats)) {
	w.mu.Lock()
	f(&w.stats)
	w.mu.Unlock()
}

// logOnce logs the first failure of a streak; the counts in Stats carry the
// rest, so a dead webhook does not flood the log.
func (w *worker) logOnce(msg string, err error, m Message) {
	w.mu.Lock()
	first := !w.failing
	w.failing = true
	w.mu.Unlock()
	if first {
		w.d.log.Warn(msg, "sink", w.s.name(), "alert", m.Alert.Key, "state", m.State, "err", err)
	}
}

func (w *worker) recovered() {
	w.mu.Lock()
	was := w.failing
	w.failing = false
	w.mu.Unlock()
	if was {
		w.d.log.Info("alert sink delivers again", "sink", w.s.name())
	}
}
