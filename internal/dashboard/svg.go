package dashboard

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// sparkline draws one field of the samples ("rps", "err", "p99") as an
// inline SVG polyline over the last hour, labelled for screen readers.
func sparkline(ss []Sample, field, label string) template.HTML {
	const w, h = 120.0, 28.0
	vals := make([]float64, len(ss))
	top := 0.0
	for i, s := range ss {
		switch field {
		case "rps":
			vals[i] = s.ReqPerSec
		case "err":
			vals[i] = s.ErrorRate
		default:
			vals[i] = s.P99ms
		}
		top = max(top, vals[i])
	}
	var pts strings.Builder
	for i, v := range vals {
		x := w - float64(len(vals)-1-i)*w/float64(RingSize-1) // newest at the right
		y := h - 1
		if top > 0 {
			y = h - 1 - v/top*(h-2)
		}
		fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
	}
	return template.HTML(fmt.Sprintf(`<svg class="spark" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s over the last hour"><polyline points="%s"/></svg>`,
		w, h, w, h, template.HTMLEscapeString(label), strings.TrimSpace(pts.String())))
}

// ttfChart draws a disk's usage over the last hour and, when it is
// filling, the projection to 100% at its time-to-full, as inline SVG.
func ttfChart(d diskView) template.HTML {
	const w, h = 300.0, 80.0
	now := time.Now()
	span := time.Hour // the past, on the left half
	ahead := time.Hour
	if d.Filling && d.TimeToFull > 0 {
		ahead = min(max(d.TimeToFull, time.Hour), 30*24*time.Hour)
	}
	x := func(t time.Time) float64 {
		if t.Before(now) {
			return w / 2 * (1 - float64(now.Sub(t))/float64(span))
		}
		return w/2 + w/2*float64(t.Sub(now))/float64(ahead)
	}
	y := func(pct float64) float64 { return h - pct/100*h }
	var pts strings.Builder
	for _, s := range d.Series {
		if now.Sub(s.Time) <= span {
			fmt.Fprintf(&pts, "%.1f,%.1f ", max(x(s.Time), 0), y(s.UsedPct))
		}
	}
	fmt.Fprintf(&pts, "%.1f,%.1f", w/2, y(d.UsedPct))
	var proj, label string
	if d.Filling && d.TimeToFull > 0 {
		end := now.Add(d.TimeToFull)
		ex, ey := x(end), y(100)
		if d.TimeToFull > ahead {
			ex = w
			ey = y(d.UsedPct + (100-d.UsedPct)*float64(ahead)/float64(d.TimeToFull))
		}
		proj = fmt.Sprintf(`<line class="proj" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, w/2, y(d.UsedPct), ex, ey)
		label = "full in " + fmtDur(d.TimeToFull)
	} else {
		label = "not filling"
	}
	return template.HTML(fmt.Sprintf(`<svg class="ttf" viewBox="0 0 %.0f %.0f" width="100%%" height="%.0f" role="img" aria-label="%s: %.1f%% used, %s">`+
		`<line class="full" x1="0" y1="1" x2="%.0f" y2="1"/><line class="now" x1="%.0f" y1="0" x2="%.0f" y2="%.0f"/>`+
		`<polyline points="%s"/>%s<text x="4" y="12">100%%</text><text x="%.0f" y="%.0f">now</text><text x="%.0f" y="12" text-anchor="end">%s</text></svg>`,
		w, h, h, template.HTMLEscapeString(d.Path), d.UsedPct, label, w, w/2, w/2, h, pts.String(), proj, w/2+3, h-4, w-4, label))
}
