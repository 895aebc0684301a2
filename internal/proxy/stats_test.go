package proxy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBucketsBracketTheirValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    time.Duration
	}{
		{"zero", 0}, {"tiny", 7}, {"first octave", 8}, {"microsecond", time.Microsecond},
		{"odd", 1234567}, {"millisecond", time.Millisecond}, {"second", time.Second},
		{"ten minutes", 10 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i := bucketOf(int64(tc.d))
			if hi := BucketBound(i); tc.d >= hi {
				t.Errorf("%v in bucket %d whose bound is %v", tc.d, i, hi)
			}
			if i > 0 {
				if lo := BucketBound(i - 1); tc.d < lo {
					t.Errorf("%v in bucket %d but below previous bound %v", tc.d, i, lo)
				}
			}
			if hi := BucketBound(i); i >= 8 && float64(hi) > 1.25*float64(tc.d)+1 {
				t.Errorf("bound %v more than 25%% above %v", hi, tc.d)
			}
		})
	}
	if got := bucketOf(int64(100 * time.Hour)); got != histBuckets-1 {
		t.Errorf("huge value in bucket %d, want the last", got)
	}
}

func TestStatsQuantilesAndSub(t *testing.T) {
	t.Parallel()
	var c counters
	for range 98 {
		c.observe(200, time.Millisecond)
	}
	c.observe(404, 10*time.Millisecond)
	c.observe(502, time.Second)
	c.requests.Add(100)
	before := c.snapshot()
	c.observe(301, 100*time.Millisecond)
	c.requests.Add(1)
	after := c.snapshot()

	got := []time.Duration{before.Latency.P50(), before.Latency.P99(), before.Latency.Quantile(1)}
	want := []time.Duration{BucketBound(bucketOf(int64(time.Millisecond))), BucketBound(bucketOf(int64(10 * time.Millisecond))), BucketBound(bucketOf(int64(time.Second)))}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("quantiles p50 p99 max (-want +got):\n%s", diff)
	}
	d := after.Sub(before)
	d.Latency = Histogram{}
	if diff := cmp.Diff(Stats{Requests: 1, Status3xx: 1}, d); diff != "" {
		t.Errorf("Sub (-want +got):\n%s", diff)
	}
	if n := after.Sub(before).Latency.Count(); n != 1 {
		t.Errorf("window latency count = %d, want 1", n)
	}
	if (Histogram{}).P99() != 0 {
		t.Errorf("empty histogram has a p99")
	}
}
