package monitor

import (
	"testing"
	"time"
)

func TestDamper(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_000_000, 0)
	tests := []struct {
		name  string
		at    []time.Duration // offsets of restart attempts
		waits []time.Duration // want allow() for each
	}{
		{name: "first is immediate", at: []time.Duration{0}, waits: []time.Duration{0}},
		{name: "second waits the first backoff", at: []time.Duration{0, 10 * time.Second, 30 * time.Second},
			waits: []time.Duration{0, 20 * time.Second, 0}},
		{name: "backoff doubles", at: []time.Duration{0, 30 * time.Second, 60 * time.Second, 90 * time.Second},
			waits: []time.Duration{0, 0, 30 * time.Second, 0}},
		{name: "resets after a quiet spell", at: []time.Duration{0, 30 * time.Second, 30*time.Second + dampReset + time.Second},
			waits: []time.Duration{0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var d damper
			for i, off := range tc.at {
				if got := d.allow(t0.Add(off)); got != tc.waits[i] {
					t.Fatalf("attempt %d at +%s: wait %s, want %s", i, off, got, tc.waits[i])
				}
			}
		})
	}
}
