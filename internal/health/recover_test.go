package health

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/spec"
)

// A check that flaps after failing stays failing until it passes
// recover_after times in a row: one transition down, one up, no storm.
func TestRecoverAfterDampsFlapping(t *testing.T) {
	t.Parallel()
	// F F F, then flapping P F F P F F, then P P P... (healthy for good).
	seq := "FFFPFFPFFPPP"
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(seq) && seq[i] == 'F' {
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	ms := func(d int) spec.Duration { return spec.Duration{Duration: time.Duration(d) * time.Millisecond} }
	c := spec.Check{Name: "up", Type: spec.CheckHTTP, Path: "/", ExpectStatus: 200, Interval: ms(10), Timeout: ms(1000),
		Retries: 2, RecoverAfter: 3, StartPeriod: ms(0)}
	var mu sync.Mutex
	var got []bool
	w := NewWatcher([]spec.Check{c}, Target{Host: "127.0.0.1", Port: p}, nil)
	w.OnTransition(func(tr Transition) {
		mu.Lock()
		got = append(got, tr.Healthy)
		mu.Unlock()
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for n.Load() < int64(len(seq))+5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] || !got[1] {
		t.Fatalf("transitions (healthy?) = %v, want [false true]: down once, up once", got)
	}
}
