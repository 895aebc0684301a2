package dashboard

import (
	"bytes"
	"context"
	"sync"
	"time"
)

// hub renders each live topic (the overview, an app, the host, the events)
// once per tick for all its watchers, and only while it has some: five
// open dashboards cost what one does. Safe for concurrent use.
type hub struct {
	tick   time.Duration
	render func(ctx context.Context, topic string) ([]byte, error)

	mu     sync.Mutex
	topics map[string]*topic
}

// topic is one rendered fragment and who watches it.
type topic struct {
	subs   map[chan []byte]struct{}
	last   []byte
	cancel context.CancelFunc
}

func newHub(tick time.Duration, render func(context.Context, string) ([]byte, error)) *hub {
	return &hub{tick: tick, render: render, topics: map[string]*topic{}}
}

// subscribe returns a channel that receives the topic's fragment whenever
// it changes (the latest only, for a slow reader), and a function that ends
// the subscription.
func (h *hub) subscribe(name string) (<-chan []byte, func()) {
	ch := make(chan []byte, 1)
	h.mu.Lock()
	t := h.topics[name]
	if t == nil {
		ctx, cancel := context.WithCancel(context.Background())
		t = &topic{subs: map[chan []byte]struct{}{}, cancel: cancel}
		h.topics[name] = t
		go h.run(ctx, name, t)
	}
	t.subs[ch] = struct{}{}
	if t.last != nil {
		ch <- t.last
	}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(t.subs, ch)
		if len(t.subs) == 0 && h.topics[name] == t {
			t.cancel()
			delete(h.topics, name)
		}
	}
}

// run renders the topic every tick until its last watcher leaves.
func (h *hub) run(ctx context.Context, name string, t *topic) {
	tk := time.NewTicker(h.tick)
	defer tk.Stop()
	for {
		b, err := h.render(ctx, name)
		if err == nil {
			h.publish(t, b)
		}
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
	}
}

func (h *hub) publish(t *topic, b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if bytes.Equal(b, t.last) {
		return
	}
	t.last = b
	for ch := range t.subs {
		select {
		case <-ch: // drop the stale fragment the reader has not taken
		default:
		}
		ch <- b
	}
}
