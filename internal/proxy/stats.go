package proxy

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Stats are cumulative numbers for the requests (HTTP) or connections (TCP)
// a proxy sent to one target. Take two snapshots and Sub them to get the
// numbers of a window, such as a deploy's verify window. A Stats value is a
// plain snapshot and safe to share once taken.
//
// Latency is time to the response header for HTTP (so long streams such as
// SSE do not skew it) and time to connect to the backend for TCP. Status
// counts include the 502/504 answers the proxy gives on behalf of the
// target; TCP connections only count Requests, ConnErrors and InFlight.
type Stats struct {
	Requests   uint64
	Status2xx  uint64
	Status3xx  uint64
	Status4xx  uint64
	Status5xx  uint64
	ConnErrors uint64 // backend dial/transport failures, retried ones included
	// Refused counts requests and connections whose dial to this target
	// failed and which the fallback target answered instead (they are in
	// ConnErrors too, and in the fallback's Requests and status counts):
	// failures of this target that no client saw.
	Refused  uint64
	InFlight int64 // a gauge: requests, streams and connections open now
	Latency  Histogram
}

// Sub returns the numbers that happened between old and s. InFlight is not
// a counter, so the result keeps s's value.
func (s Stats) Sub(old Stats) Stats {
	return Stats{
		Requests:   s.Requests - old.Requests,
		Status2xx:  s.Status2xx - old.Status2xx,
		Status3xx:  s.Status3xx - old.Status3xx,
		Status4xx:  s.Status4xx - old.Status4xx,
		Status5xx:  s.Status5xx - old.Status5xx,
		ConnErrors: s.ConnErrors - old.ConnErrors,
		Refused:    s.Refused - old.Refused,
		InFlight:   s.InFlight,
		Latency:    s.Latency.Sub(old.Latency),
	}
}

// histBuckets is the number of latency buckets: 8 exact buckets below 8ns,
// then 4 per power of two up to about 2^41ns (36 minutes). Four per octave
// bounds the quantile error to 25%, which is plenty to compare two colors.
const histBuckets = 8 + 38*4

// Histogram is a fixed-bucket latency histogram snapshot. Counts[i] is the
// number of observations in bucket i, whose upper bound is BucketBound(i).
// A Histogram value is a plain snapshot and safe to share once taken.
type Histogram struct {
	Counts [histBuckets]uint64
}

// bucketOf maps a duration in nanoseconds to its bucket with a few bit
// operations, so recording stays cheap on the request path.
func bucketOf(ns int64) int {
	if ns < 8 {
		if ns < 0 {
			return 0
		}
		return int(ns)
	}
	o := bits.Len64(uint64(ns)) // ns is in [2^(o-1), 2^o)
	sub := int(uint64(ns)>>(o-3)) - 4
	i := 8 + (o-4)*4 + sub
	if i >= histBuckets {
		return histBuckets - 1
	}
	return i
}

// BucketBound returns the exclusive upper bound of bucket i.
func BucketBound(i int) time.Duration {
	if i < 8 {
		return time.Duration(i + 1)
	}
	o := (i-8)/4 + 4
	sub := (i - 8) % 4
	return time.Duration(int64(5+sub) << (o - 3))
}

// Count returns the number of observations.
func (h Histogram) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// Quantile returns the upper bound of the bucket holding the q-th quantile
// (0 < q <= 1), or 0 when the histogram is empty. The bound over-estimates
// by at most 25%.
func (h Histogram) Quantile(q float64) time.Duration {
	n := h.Count()
	if n == 0 {
		return 0
	}
	rank := uint64(q * float64(n))
	if rank == 0 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			return BucketBound(i)
		}
	}
	return BucketBound(histBuckets - 1)
}

// P50 returns the median latency.
func (h Histogram) P50() time.Duration { return h.Quantile(0.50) }

// P99 returns the 99th percentile latency.
func (h Histogram) P99() time.Duration { return h.Quantile(0.99) }

// Sub returns the observations made between old and h.
func (h Histogram) Sub(old Histogram) Histogram {
	var d Histogram
	for i := range h.Counts {
		d.Counts[i] = h.Counts[i] - old.Counts[i]
	}
	return d
}

// Add returns the observations of h and o together.
func (h Histogram) Add(o Histogram) Histogram {
	var d Histogram
	for i := range h.Counts {
		d.Counts[i] = h.Counts[i] + o.Counts[i]
	}
	return d
}

// Add returns the numbers of s and o together (of the instances of a set).
func (s Stats) Add(o Stats) Stats {
	return Stats{
		Requests:   s.Requests + o.Requests,
		Status2xx:  s.Status2xx + o.Status2xx,
		Status3xx:  s.Status3xx + o.Status3xx,
		Status4xx:  s.Status4xx + o.Status4xx,
		Status5xx:  s.Status5xx + o.Status5xx,
		ConnErrors: s.ConnErrors + o.ConnErrors,
		Refused:    s.Refused + o.Refused,
		InFlight:   s.InFlight + o.InFlight,
		Latency:    s.Latency.Add(o.Latency),
	}
}

// counters is the live, lock-free form of Stats. Every field is updated
// with atomics from many request goroutines at once.
type counters struct {
	requests   atomic.Uint64
	status     [6]atomic.Uint64 // index = status/100; 0 and 1 unused
	connErrors atomic.Uint64
	refused    atomic.Uint64
	inFlight   atomic.Int64
	latency    [histBuckets]atomic.Uint64
}

func (c *counters) observe(status int, d time.Duration) {
	if k := status / 100; k >= 2 && k <= 5 {
		c.status[k].Add(1)
	}
	c.latency[bucketOf(int64(d))].Add(1)
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Requests:   c.requests.Load(),
		Status2xx:  c.status[2].Load(),
		Status3xx:  c.status[3].Load(),
		Status4xx:  c.status[4].Load(),
		Status5xx:  c.status[5].Load(),
		ConnErrors: c.connErrors.Load(),
		Refused:    c.refused.Load(),
		InFlight:   c.inFlight.Load(),
	}
	for i := range c.latency {
		s.Latency.Counts[i] = c.latency[i].Load()
	}
	return s
}
