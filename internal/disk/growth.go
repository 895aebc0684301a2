package disk

import (
	"math"
	"time"
)

// Sample is one observation of a filesystem's used bytes.
type Sample struct {
	Time time.Time
	Used uint64
}

// Projection is the fitted growth of a filesystem.
type Projection struct {
	Rate       float64       // bytes per second, least squares over the window; negative when shrinking
	TimeToFull time.Duration // until Avail is used up at Rate; 0 when not growing
	Filling    bool          // Rate > 0: TimeToFull is meaningful
}

// Project fits used bytes against time by least squares and projects when
// avail bytes will be gone. It needs at least two samples at different
// times; ok is false otherwise.
func Project(samples []Sample, avail uint64) (p Projection, ok bool) {
	if len(samples) < 2 {
		return p, false
	}
	t0 := samples[0].Time
	var n, sx, sy, sxx, sxy float64
	for _, s := range samples {
		x := s.Time.Sub(t0).Seconds()
		y := float64(s.Used)
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	den := n*sxx - sx*sx
	if den <= 0 || math.Abs(den) < 1e-9 {
		return p, false
	}
	p.Rate = (n*sxy - sx*sy) / den
	if p.Rate > 0 {
		p.Filling = true
		secs := float64(avail) / p.Rate
		// Cap far projections: a slope of a few bytes a second is "never".
		p.TimeToFull = time.Duration(min(secs, float64(100*365*24*3600)) * float64(time.Second))
	}
	return p, true
}

// window keeps the samples of the last span, at most limit of them.
type window struct {
	span    time.Duration
	limit   int
	samples []Sample
}

func (w *window) add(s Sample) {
	w.samples = append(w.samples, s)
	cut := 0
	for cut < len(w.samples) && s.Time.Sub(w.samples[cut].Time) > w.span {
		cut++
	}
	if over := len(w.samples) - cut - w.limit; over > 0 {
		cut += over
	}
	w.samples = append(w.samples[:0], w.samples[cut:]...)
}

// ready says the window holds enough history to project from: at least
// minSamples spanning a sixth of the window, so a burst in the first
// minutes after start does not page anyone.
func (w *window) ready() bool {
	const minSamples = 5
	if len(w.samples) < minSamples {
		return false
	}
	return w.samples[len(w.samples)-1].Time.Sub(w.samples[0].Time) >= w.span/6
}
