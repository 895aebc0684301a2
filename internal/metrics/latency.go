package metrics

import (
	"math"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
)

// latencyBucket is one bucket of the exported latency histogram: it holds
// the proxy buckets 0..last, so its upper bound is the proxy's bound of
// bucket last.
type latencyBucket struct {
	last int     // index of the last proxy bucket it holds
	le   float64 // proxy.BucketBound(last), in seconds
}

// proxyBuckets is the number of buckets of proxy.Histogram.
const proxyBuckets = len(proxy.Histogram{}.Counts)

// latencyBuckets downsamples the proxy's 160 buckets (four per power of
// two) to the usual Prometheus latency bounds. Each exported bound is the
// proxy bound closest (by ratio) to a round target, so every proxy bucket
// lies wholly inside one exported bucket and the counts are exact, never
// interpolated. The bounds are therefore not round: 1ms becomes
// 0.001048576 (2^20 ns), 10ms 0.010485760.
func latencyBuckets() []latencyBucket {
	targets := [...]time.Duration{
		500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond,
		5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond,
		50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
		500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
		5 * time.Second, 10 * time.Second,
	}
	out := make([]latencyBucket, 0, len(targets))
	for _, t := range targets {
		best, dist := 0, math.Inf(1)
		for i := range proxyBuckets - 1 { // the last proxy bucket is open-ended: +Inf
			if d := math.Abs(math.Log(float64(proxy.BucketBound(i)) / float64(t))); d < dist {
				best, dist = i, d
			}
		}
		out = append(out, latencyBucket{last: best, le: proxy.BucketBound(best).Seconds()})
	}
	return out
}

// latencyHistogram turns a proxy histogram into cumulative counts per
// exported bound, the total count, and an estimated sum in seconds.
//
// The proxy keeps no sum, so the sum counts every observation at the middle
// of its proxy bucket: within 12.5% of the truth, and monotonic like a real
// sum, so rate(sum)/rate(count) is a fair mean latency.
//
// The proxy's buckets exclude their upper bound, so "le" here counts the
// observations below the bound; with nanosecond durations that differs
// from "at or below" only for an observation of exactly that many
// nanoseconds.
func latencyHistogram(h proxy.Histogram, bs []latencyBucket) (buckets map[float64]uint64, count uint64, sum float64) {
	buckets = make(map[float64]uint64, len(bs))
	j := 0
	var lower time.Duration
	for i, c := range h.Counts {
		upper := proxy.BucketBound(i)
		count += c
		sum += float64(c) * (lower + upper).Seconds() / 2
		lower = upper
		if j < len(bs) && bs[j].last == i {
			buckets[bs[j].le] = count
			j++
		}
	}
	return buckets, count, sum
}
