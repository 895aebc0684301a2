package dashboard

import (
	"context"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/disk"
	"github.com/berth-dev/berth/internal/proxy"
)

// SampleEvery is how often the sampler records each app's traffic and each
// disk's usage; RingSize samples (an hour) are kept per series.
const (
	SampleEvery = 10 * time.Second
	RingSize    = 360
)

// Sample is one app's traffic over one sampling interval.
type Sample struct {
	Time      time.Time
	ReqPerSec float64
	ErrorRate float64 // 5xx and connection errors per request, 0..1
	P99ms     float64
}

// DiskSample is one disk's usage at one time.
type DiskSample struct {
	Time    time.Time
	UsedPct float64
}

// ring is a fixed-size series, oldest first when read.
type ring[T any] struct {
	buf  []T
	next int
	full bool
}

func (r *ring[T]) add(v T) {
	if r.buf == nil {
		r.buf = make([]T, RingSize)
	}
	r.buf[r.next] = v
	r.next = (r.next + 1) % len(r.buf)
	r.full = r.full || r.next == 0
}

func (r *ring[T]) all() []T {
	if !r.full {
		return append([]T(nil), r.buf[:r.next]...)
	}
	return append(append([]T(nil), r.buf[r.next:]...), r.buf[:r.next]...)
}

// proxies is what the sampler reads: every app's proxy.
type proxies interface {
	EachProxy(fn func(app string, p deploy.Proxy))
	// Slots names each color's instances ("blue", "blue.1", ...).
	Slots(app string) map[string][]string
}

// sampler keeps the last hour of each app's req/s, error rate and p99 and
// of each disk's usage in memory: 360 samples of 40 bytes per app (about
// 14 KiB) and 360 of 16 bytes per disk. Safe for concurrent use.
type sampler struct {
	px    proxies
	disks func() []disk.Reading

	mu    sync.Mutex
	last  map[string]proxy.Stats // per app.color, the previous reading
	lastT time.Time
	apps  map[string]*ring[Sample]
	disk  map[string]*ring[DiskSample]
}

func newSampler(px proxies, disks func() []disk.Reading) *sampler {
	return &sampler{px: px, disks: disks, last: map[string]proxy.Stats{},
		apps: map[string]*ring[Sample]{}, disk: map[string]*ring[DiskSample]{}}
}

// run samples every SampleEvery until ctx ends.
func (s *sampler) run(ctx context.Context) {
	t := time.NewTicker(SampleEvery)
	defer t.Stop()
	s.sample(time.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.sample(now)
		}
	}
}

// sample records one sample of every app and disk.
func (s *sampler) sample(now time.Time) {
	cur := map[string]map[string]proxy.Stats{}
	if s.px != nil {
		s.px.EachProxy(func(app string, p deploy.Proxy) {
			// Every instance of either color: an instance seen for the
			// first time is its baseline, one gone adds nothing.
			cur[app] = map[string]proxy.Stats{deploy.Blue: p.Stats(deploy.Blue), deploy.Green: p.Stats(deploy.Green)}
			for _, names := range s.px.Slots(app) {
				for _, n := range names {
					if _, ok := cur[app][n]; !ok {
						cur[app][n] = p.Stats(n)
					}
				}
			}
		})
	}
	var disks []disk.Reading
	if s.disks != nil {
		disks = s.disks()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	secs := now.Sub(s.lastT).Seconds()
	for app, colors := range cur {
		var d proxy.Stats
		for c, st := range colors {
			old, seen := s.last[app+"."+c]
			s.last[app+"."+c] = st
			if seen && st.Requests >= old.Requests {
				d = add(d, st.Sub(old))
			}
		}
		if s.lastT.IsZero() {
			continue // the first reading is the baseline
		}
		s.series(app).add(toSample(now, secs, d))
	}
	for _, r := range disks {
		if r.Err != "" {
			continue
		}
		dr := s.disk[r.Path]
		if dr == nil {
			dr = &ring[DiskSample]{}
			s.disk[r.Path] = dr
		}
		dr.add(DiskSample{Time: now, UsedPct: r.UsedPct})
	}
	s.lastT = now
}

func (s *sampler) series(app string) *ring[Sample] {
	r := s.apps[app]
	if r == nil {
		r = &ring[Sample]{}
		s.apps[app] = r
	}
	return r
}

// add sums two colors' numbers over the same interval.
func add(a, b proxy.Stats) proxy.Stats {
	a.Requests += b.Requests
	a.Status5xx += b.Status5xx
	a.ConnErrors += b.ConnErrors
	a.Refused += b.Refused
	for i := range a.Latency.Counts {
		a.Latency.Counts[i] += b.Latency.Counts[i]
	}
	return a
}

func toSample(now time.Time, secs float64, d proxy.Stats) Sample {
	s := Sample{Time: now}
	if secs > 0 {
		s.ReqPerSec = float64(d.Requests) / secs
	}
	if d.Requests > 0 {
		// Refused dials were answered by the fallback: no client saw them.
		failed := d.Status5xx + d.ConnErrors - min(d.Refused, d.ConnErrors)
		s.ErrorRate = min(float64(failed)/float64(d.Requests), 1)
	}
	if d.Latency.Count() > 0 {
		s.P99ms = float64(d.Latency.P99()) / float64(time.Millisecond)
	}
	return s
}

// appSeries returns app's samples, oldest first.
func (s *sampler) appSeries(app string) []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.apps[app]; r != nil {
		return r.all()
	}
	return nil
}

// diskSeries returns the disk's samples, oldest first.
func (s *sampler) diskSeries(path string) []DiskSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.disk[path]; r != nil {
		return r.all()
	}
	return nil
}
