package dashboard

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/proxy"
)

func TestRingKeepsTheNewest(t *testing.T) {
	t.Parallel()
	var r ring[int]
	for i := range RingSize + 5 {
		r.add(i)
	}
	got := r.all()
	if len(got) != RingSize || got[0] != 5 || got[len(got)-1] != RingSize+4 {
		t.Errorf("after %d adds: %d values from %d to %d, want %d from 5 to %d",
			RingSize+5, len(got), got[0], got[len(got)-1], RingSize, RingSize+4)
	}
}

func TestToSample(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	tests := []struct {
		name string
		d    proxy.Stats
		want Sample
	}{
		{name: "idle", want: Sample{Time: now}},
		{name: "5xx count", d: proxy.Stats{Requests: 100, Status5xx: 5},
			want: Sample{Time: now, ReqPerSec: 10, ErrorRate: 0.05}},
		// A refused dial the fallback answered is no error a client saw.
		{name: "refused dials are not errors", d: proxy.Stats{Requests: 10, ConnErrors: 2, Refused: 2},
			want: Sample{Time: now, ReqPerSec: 1}},
		{name: "connection errors are", d: proxy.Stats{Requests: 10, ConnErrors: 3, Refused: 1},
			want: Sample{Time: now, ReqPerSec: 1, ErrorRate: 0.2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, toSample(now, 10, tc.d)); diff != "" {
				t.Errorf("toSample (-want +got):\n%s", diff)
			}
		})
	}
}

// Watchers of one topic share its renders: five cost what one does, and an
// unchanged fragment is not sent again.
func TestHubRendersOncePerTickForAllWatchers(t *testing.T) {
	t.Parallel()
	var renders atomic.Int64
	var version atomic.Int64
	h := newHub(20*time.Millisecond, func(_ context.Context, topic string) ([]byte, error) {
		renders.Add(1)
		return []byte(topic + string(rune('0'+version.Load()))), nil
	})
	start := time.Now()
	var chans []<-chan []byte
	for range 5 {
		ch, stop := h.subscribe("overview")
		defer stop()
		chans = append(chans, ch)
	}
	for i, ch := range chans {
		select {
		case b := <-ch:
			if string(b) != "overview0" {
				t.Errorf("watcher %d got %q", i, b)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("watcher %d got nothing", i)
		}
	}
	time.Sleep(200 * time.Millisecond) // about 10 ticks, nothing changes
	for i, ch := range chans {
		select {
		case b := <-ch:
			t.Errorf("watcher %d got the unchanged fragment again: %q", i, b)
		default:
		}
	}
	// One render per tick for the topic (plus the first); a render per
	// watcher would make five times as many.
	n, ticks := renders.Load(), int64(time.Since(start)/(20*time.Millisecond))
	if n > ticks+2 {
		t.Errorf("%d renders in %d ticks for 5 watchers of one topic", n, ticks)
	}
	version.Store(1)
	for i, ch := range chans {
		select {
		case b := <-ch:
			if string(b) != "overview1" {
				t.Errorf("watcher %d got %q after the change", i, b)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("watcher %d missed the change", i)
		}
	}
}

// slotProxies is one app whose blue color has three instances, each with
// its own numbers.
type slotProxies struct{ stats map[string]proxy.Stats }

func (f *slotProxies) EachProxy(fn func(string, deploy.Proxy)) { fn("triple", slotProxy{f: f}) }
func (f *slotProxies) Slots(string) map[string][]string {
	return map[string][]string{deploy.Blue: {"blue", "blue.1", "blue.2"}}
}

type slotProxy struct {
	deploy.Proxy // only Stats is called
	f            *slotProxies
}

func (p slotProxy) Stats(name string) proxy.Stats { return p.f.stats[name] }

// The req/s of an app of several instances counts every instance's
// requests (it counted the first one's only).
func TestSamplerCountsEveryInstance(t *testing.T) {
	t.Parallel()
	f := &slotProxies{stats: map[string]proxy.Stats{}}
	s := newSampler(f, nil)
	now := time.Unix(1000, 0)
	s.sample(now)
	for _, n := range []string{"blue", "blue.1", "blue.2"} {
		f.stats[n] = proxy.Stats{Requests: 10, Status2xx: 10}
	}
	s.sample(now.Add(10 * time.Second))
	got := s.appSeries("triple")
	if len(got) != 1 || got[0].ReqPerSec != 3 {
		t.Errorf("samples %+v; want one of 3 req/s (30 requests over 3 instances in 10 s)", got)
	}
}
