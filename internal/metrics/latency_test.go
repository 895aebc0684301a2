package metrics

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/proxy"
)

func TestLatencyBuckets(t *testing.T) {
	t.Parallel()
	// Each bound is the proxy bound nearest (by ratio) to a round target.
	want := []latencyBucket{
		{71, 0.000524288}, {75, 0.001048576}, {80, 0.00262144}, {84, 0.00524288},
		{88, 0.01048576}, {93, 0.025165824}, {97, 0.050331648}, {101, 0.100663296},
		{106, 0.234881024}, {110, 0.469762048}, {114, 0.939524096}, {120, 2.68435456},
		{124, 5.36870912}, {128, 10.73741824},
	}
	got := latencyBuckets()
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(latencyBucket{})); diff != "" {
		t.Errorf("latencyBuckets (-want +got):\n%s", diff)
	}
	for i, b := range got {
		if b.le != proxy.BucketBound(b.last).Seconds() {
			t.Errorf("bucket %d: le %v is not the proxy bound %v of bucket %d", i, b.le, proxy.BucketBound(b.last), b.last)
		}
		if i > 0 && b.last <= got[i-1].last {
			t.Errorf("bucket %d: proxy bucket %d does not follow %d", i, b.last, got[i-1].last)
		}
	}
}

// at returns a histogram with one observation of each duration, placed
// by the proxy's documented rule: bucket i holds [BucketBound(i-1),
// BucketBound(i)).
func at(ds ...time.Duration) proxy.Histogram {
	var h proxy.Histogram
	for _, d := range ds {
		i := 0
		for i < len(h.Counts)-1 && d >= proxy.BucketBound(i) {
			i++
		}
		h.Counts[i]++
	}
	return h
}

// cumulative builds the expected bucket map: counts[k] is the cumulative
// count at the k-th exported bound.
func cumulative(counts ...uint64) map[float64]uint64 {
	out := map[float64]uint64{}
	for k, b := range latencyBuckets() {
		out[b.le] = counts[k]
	}
	return out
}

func TestLatencyHistogram(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	bound1ms := proxy.BucketBound(75) // 1.048576ms, the exported "1ms" bound
	tests := []struct {
		name    string
		h       proxy.Histogram
		buckets map[float64]uint64
		count   uint64
	}{
		{"empty", proxy.Histogram{}, cumulative(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 0},
		{"one fast request", at(100 * time.Microsecond), cumulative(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), 1},
		{"just below a bound counts in it", at(bound1ms - 1), cumulative(0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), 1},
		{"at a bound counts in the next", at(bound1ms), cumulative(0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), 1},
		{"spread", at(ms, 3*ms, 30*ms, 200*ms, 2*time.Second), cumulative(0, 1, 1, 2, 2, 2, 3, 3, 4, 4, 4, 5, 5, 5), 5},
		{"beyond the last bound is only in +Inf", at(time.Minute, time.Hour), cumulative(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			buckets, count, _ := latencyHistogram(tt.h, latencyBuckets())
			if diff := cmp.Diff(tt.buckets, buckets); diff != "" {
				t.Errorf("buckets (-want +got):\n%s", diff)
			}
			if count != tt.count {
				t.Errorf("count = %d, want %d", count, tt.count)
			}
		})
	}
}

func TestLatencySumEstimate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ds   []time.Duration
	}{
		{"one", []time.Duration{time.Millisecond}},
		{"bucket lower edges", []time.Duration{4 << 20, 4 << 30}}, // worst case: +12.5%
		{"mixed", []time.Duration{3 * time.Microsecond, 7 * time.Millisecond, 900 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var truth float64
			for _, d := range tt.ds {
				truth += d.Seconds()
			}
			_, _, sum := latencyHistogram(at(tt.ds...), latencyBuckets())
			if math.Abs(sum-truth) > 0.125*truth+1e-12 {
				t.Errorf("sum = %v, truth %v: off by more than 12.5%%", sum, truth)
			}
		})
	}
}
