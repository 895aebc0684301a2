package disk

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestHysteresis(t *testing.T) {
	t.Parallel()
	const o, w, c = LevelOK, LevelWarning, LevelCritical
	tests := []struct {
		name string
		need int
		in   []Level
		want []Level // fired level after each observation
	}{
		{name: "fires on the third breach", need: 3, in: []Level{w, w, w, w}, want: []Level{o, o, w, w}},
		{name: "a dip restarts the count", need: 3, in: []Level{w, w, o, w, w, w}, want: []Level{o, o, o, o, o, w}},
		{name: "resolves after three clear checks", need: 3, in: []Level{w, w, w, o, o, w, o, o, o}, want: []Level{o, o, w, w, w, w, w, w, o}},
		{name: "hovering between warning and critical stays warning", need: 3, in: []Level{w, c, w, c, w, c}, want: []Level{o, o, w, w, w, w}},
		{name: "escalates after three criticals", need: 3, in: []Level{w, w, w, c, c, c}, want: []Level{o, o, w, w, w, c}},
		{name: "critical to warning steps down", need: 2, in: []Level{c, c, w, w}, want: []Level{o, c, c, w}},
		{name: "for 1 follows every check", need: 1, in: []Level{c, o, w}, want: []Level{c, o, w}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &hysteresis{need: tt.need}
			var got []Level
			for _, l := range tt.in {
				f, _ := h.observe(l)
				got = append(got, f)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestProject(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	linear := func(n int, step time.Duration, start, perStep uint64) []Sample {
		var s []Sample
		for i := range n {
			s = append(s, Sample{Time: t0.Add(time.Duration(i) * step), Used: start + uint64(i)*perStep})
		}
		return s
	}
	tests := []struct {
		name     string
		samples  []Sample
		avail    uint64
		wantOK   bool
		wantRate float64 // bytes/s
		wantTTF  time.Duration
	}{
		{name: "one sample is not enough", samples: linear(1, time.Minute, 0, 0), avail: 1, wantOK: false},
		{name: "same time twice is not a slope", samples: []Sample{{t0, 1}, {t0, 5}}, avail: 1, wantOK: false},
		{name: "1MB a minute with 60MB left is an hour", samples: linear(10, time.Minute, 5e9, 1e6), avail: 60e6, wantOK: true, wantRate: 1e6 / 60.0, wantTTF: time.Hour},
		{name: "flat never fills", samples: linear(10, time.Minute, 5e9, 0), avail: 60e6, wantOK: true},
		{name: "noise around a slope", samples: []Sample{{t0, 100}, {t0.Add(time.Second), 300}, {t0.Add(2 * time.Second), 250}, {t0.Add(3 * time.Second), 450}}, avail: 1000,
			wantOK: true, wantRate: 100, wantTTF: 10 * time.Second},
		{name: "shrinking never fills", samples: []Sample{{t0, 1000}, {t0.Add(time.Hour), 10}}, avail: 5, wantOK: true, wantRate: -990.0 / 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, ok := Project(tt.samples, tt.avail)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if math.Abs(p.Rate-tt.wantRate) > 1e-6*math.Max(1, math.Abs(tt.wantRate)) {
				t.Errorf("rate = %v, want %v", p.Rate, tt.wantRate)
			}
			if p.Filling != (tt.wantTTF > 0) || (p.TimeToFull-tt.wantTTF).Abs() > time.Millisecond {
				t.Errorf("time to full = %v (filling %v), want %v", p.TimeToFull, p.Filling, tt.wantTTF)
			}
		})
	}
}

func TestWindowIsBounded(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := window{span: 10 * time.Minute, limit: 5}
	for i := range 30 {
		w.add(Sample{Time: t0.Add(time.Duration(i) * time.Minute), Used: uint64(i)})
	}
	if len(w.samples) != 5 || w.samples[4].Used != 29 {
		t.Errorf("window kept %v", w.samples)
	}
	w = window{span: 3 * time.Minute, limit: 100}
	for i := range 30 {
		w.add(Sample{Time: t0.Add(time.Duration(i) * time.Minute), Used: uint64(i)})
	}
	if len(w.samples) != 4 || w.samples[0].Used != 26 {
		t.Errorf("window by span kept %v", w.samples)
	}
}
