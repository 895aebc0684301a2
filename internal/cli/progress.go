package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/state"
)

// printer prints a deploy's progress as it happens: plain lines, with
// colour only on a terminal without NO_COLOR.
type printer struct {
	w     io.Writer
	color bool
	start time.Time
	lines int // progress lines received
}

// seen is progress for a stream of the daemon's: it counts what arrived.
func (p *printer) seen(e deploy.Progress) {
	p.lines++
	p.progress(e)
}

func newPrinter(w io.Writer) *printer {
	return &printer{w: w, color: isTerminal(w) && os.Getenv("NO_COLOR") == "", start: time.Now()}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func (p *printer) paint(code, s string) string {
	if !p.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p *printer) progress(e deploy.Progress) {
	at := e.Time.Sub(p.start).Seconds()
	switch e.Outcome {
	case "running":
		return // the step's end line says it all; keeps output one line per step
	case "info":
		fmt.Fprintf(p.w, "%6.2fs   %-22s %s\n", at, e.Step, p.paint("2", e.Detail))
	default:
		mark := p.paint("32", "ok    ")
		if e.Outcome == "failed" {
			mark = p.paint("31", "FAILED")
		}
		fmt.Fprintf(p.w, "%6.2fs   %-22s %s %8s  %s\n", at, e.Step, mark, round(e.Took), e.Detail)
	}
}

// result prints the last lines of a deploy: what is live, and how fast.
func (p *printer) result(d state.Deployment, err error) {
	if d.ID == "" {
		return
	}
	took := d.EndedAt.Sub(d.StartedAt)
	if err != nil {
		fmt.Fprintf(p.w, "%s %s #%s %s after %s: %s\n", p.paint("31", "✗"), d.Kind, d.ID, d.Outcome, round(took), d.Reason)
		if d.Live != "" {
			fmt.Fprintf(p.w, "live: %s (release %s) still serving\n", d.Live, d.FromRelease)
		}
		return
	}
	line := fmt.Sprintf("live: %s (release %s) in %s", d.Live, d.Release, round(took))
	if d.SwitchTook > 0 {
		line += fmt.Sprintf("; switch took %s", d.SwitchTook)
	}
	if d.Drained+d.Cut > 0 {
		line += fmt.Sprintf("; %d connections drained, %d cut", d.Drained, d.Cut)
	}
	fmt.Fprintf(p.w, "%s %s\n", p.paint("32", "✓"), line)
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d > time.Millisecond:
		return d.Round(time.Millisecond)
	default:
		return d.Round(time.Microsecond)
	}
}
