package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
	"github.com/berth-dev/berth/internal/spec"
)

// stats builds proxy numbers: ok and bad finished requests, all with the
// given latency.
func stats(ok, bad uint64, lat time.Duration) proxy.Stats {
	var s proxy.Stats
	s.Requests = ok + bad
	s.Status2xx, s.Status5xx = ok, bad
	for i := range s.Latency.Counts {
		if proxy.BucketBound(i) >= lat {
			s.Latency.Counts[i] = ok + bad
			break
		}
	}
	return s
}

func TestJudge(t *testing.T) {
	t.Parallel()
	d := spec.Deploy{MaxErrorRate: 0.05, MaxLatencyRise: 3, MinRequests: 20}
	ms := time.Millisecond
	tests := []struct {
		name      string
		cur, base proxy.Stats
		notFinal  bool   // judged mid-window, where latency is not judged
		breach    string // substring of the reason; "" = no breach
	}{
		{name: "too few requests to judge", cur: stats(5, 5, ms), base: stats(100, 0, ms)},
		{name: "healthy", cur: stats(100, 2, ms), base: stats(100, 0, ms)},
		{name: "errors over the bound", cur: stats(90, 10, ms), base: stats(100, 0, ms), breach: "error rate 10.0% (10 of 100"},
		{name: "in-flight requests do not dilute", cur: func() proxy.Stats { s := stats(0, 30, ms); s.Requests = 60; return s }(), breach: "error rate 100.0% (30 of 30"},
		{name: "latency rise", cur: stats(100, 0, 200*ms), base: stats(100, 0, 10*ms), breach: "p99 latency"},
		{name: "latency is judged only at the end", cur: stats(100, 0, 200*ms), base: stats(100, 0, 10*ms), notFinal: true},
		{name: "errors are judged mid-window", cur: stats(50, 50, ms), notFinal: true, breach: "error rate 50.0%"},
		{name: "small absolute rise is noise", cur: stats(100, 0, 30*ms), base: stats(100, 0, ms)},
		{name: "refused requests the old color answered count as errors", cur: func() proxy.Stats { s := stats(80, 0, ms); s.Refused = 20; return s }(), notFinal: true, breach: "error rate 20.0% (20 of 100"},
		{name: "no baseline, no latency verdict", cur: stats(100, 0, 200*ms), base: stats(50, 0, ms)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := judge(d, tc.cur, tc.base, !tc.notFinal)
			switch {
			case tc.breach == "" && v != nil:
				t.Fatalf("breach %q, want none", v.reason)
			case tc.breach != "" && v == nil:
				t.Fatalf("no breach, want %q", tc.breach)
			case tc.breach != "" && !strings.Contains(v.reason, tc.breach):
				t.Fatalf("reason %q, want it to contain %q", v.reason, tc.breach)
			}
			if v != nil && v.numbers["error_rate"] > 1 {
				t.Fatalf("error_rate %v is not a fraction", v.numbers["error_rate"])
			}
		})
	}
}
