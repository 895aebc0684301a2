package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
	"github.com/berth-dev/berth/internal/spec"
)

func TestJudgeCanary(t *testing.T) {
	t.Parallel()
	c := &spec.Canary{MaxErrorRate: 1, MaxP99Ratio: 2, MinRequests: 50}
	ms := time.Millisecond
	refused := func(s proxy.Stats, n uint64) proxy.Stats { s.Refused += n; return s }
	tests := []struct {
		name     string
		canary   *spec.Canary
		cur, old proxy.Stats
		final    bool
		breach   string // substring of the reason; "" = no breach
	}{
		{name: "below min_requests nothing is judged", cur: stats(30, 19, ms), old: stats(500, 0, ms)},
		{name: "30% failing at 10% of traffic", cur: stats(35, 15, ms), old: stats(450, 0, ms), breach: "error rate 30.0% (15 of 50"},
		{name: "exactly at the bound passes", cur: stats(99, 1, ms), old: stats(900, 0, ms)},
		{name: "just over the bound", cur: stats(197, 3, ms), old: stats(900, 0, ms), breach: "over max_error_rate 1%"},
		{name: "refused dials are the canary's errors", cur: refused(stats(95, 0, ms), 5), breach: "error rate 5.0% (5 of 100"},
		{name: "p99 not judged mid-step", cur: stats(200, 0, 400*ms), old: stats(900, 0, 10*ms)},
		{name: "p99 over the ratio at the step's end", cur: stats(200, 0, 400*ms), old: stats(900, 0, 10*ms), final: true, breach: "max_p99_ratio 2.0"},
		{name: "p99 within the ratio", cur: stats(200, 0, 15*ms), old: stats(900, 0, 10*ms), final: true},
		{name: "p99 double but under the floor", cur: stats(200, 0, 30*ms), old: stats(900, 0, 5*ms), final: true},
		{name: "too few old requests for a baseline", cur: stats(200, 0, 400*ms), old: stats(20, 0, 10*ms), final: true},
		{name: "ratio 0 disables latency", canary: &spec.Canary{MaxErrorRate: 1, MinRequests: 50}, cur: stats(200, 0, 400*ms), old: stats(900, 0, 10*ms), final: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cc := c
			if tt.canary != nil {
				cc = tt.canary
			}
			v := judgeCanary(cc, tt.cur, tt.old, tt.final)
			switch {
			case tt.breach == "" && v != nil:
				t.Errorf("breach %q, want none", v.reason)
			case tt.breach != "" && v == nil:
				t.Errorf("no breach, want %q", tt.breach)
			case tt.breach != "" && !strings.Contains(v.reason, tt.breach):
				t.Errorf("reason %q, want it to contain %q", v.reason, tt.breach)
			case v != nil && (v.numbers["requests"] == 0 || v.numbers["error_rate"] < 0):
				t.Errorf("numbers %v lack the requests", v.numbers)
			}
		})
	}
}

func TestEnoughRequests(t *testing.T) {
	t.Parallel()
	c := &spec.Canary{MinRequests: 50}
	inFlight := stats(49, 0, time.Millisecond)
	inFlight.Requests = 80 // 31 still running: not finished, not counted
	if enoughRequests(c, inFlight) {
		t.Error("49 finished of min_requests 50 counted as enough")
	}
	if !enoughRequests(c, stats(40, 10, time.Millisecond)) {
		t.Error("50 finished (10 failed) not counted as enough")
	}
}

// TestPromoteEndsOnlyItsStep: a promote sent for a step that has ended
// meanwhile is dropped, not carried into the next step.
func TestPromoteEndsOnlyItsStep(t *testing.T) {
	t.Parallel()
	c := newCanaryRun("1", &spec.Canary{Steps: []int{10, 100}})
	c.promote <- 1
	if c.promoted(2) {
		t.Error("a promote of step 1 ended step 2")
	}
	if c.promoted(2) {
		t.Error("a promote was taken twice")
	}
	c.promote <- 2
	if !c.promoted(2) {
		t.Error("a promote of step 2 did not end step 2")
	}
}
