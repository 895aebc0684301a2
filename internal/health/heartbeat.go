package health

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/spec"
)

// heartbeatProbe is the progress watchdog for agents that serve no port:
// passing means the agent showed a sign of progress within the window, by
// touching a file or by printing a matching line.
type heartbeatProbe struct {
	check  spec.Check
	target Target
}

func (p *heartbeatProbe) Probe(ctx context.Context) Result {
	return run(ctx, p.check, p.do)
}

func (p *heartbeatProbe) do(ctx context.Context) error {
	within := p.check.Within.Duration
	if p.check.File != "" {
		path := p.check.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(p.target.Shared, path)
		}
		fi, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("heartbeat file: %w", err)
		}
		if age := time.Since(fi.ModTime()); age > within {
			return fmt.Errorf("heartbeat %s last touched %s ago, more than %s", p.check.File, age.Round(time.Second), within)
		}
		return nil
	}
	re, err := regexp.Compile(p.check.Pattern)
	if err != nil {
		return fmt.Errorf("heartbeat pattern: %w", err)
	}
	errFound := errors.New("found")
	err = logs.Read(ctx, p.target.LogPath, logs.Query{Since: time.Now().Add(-within)}, func(l logs.Line) error {
		if re.MatchString(l.Text) {
			return errFound
		}
		return nil
	})
	switch {
	case errors.Is(err, errFound):
		return nil
	case err != nil:
		return fmt.Errorf("reading output for the heartbeat: %w", err)
	}
	return fmt.Errorf("no output line matching %q in the last %s", p.check.Pattern, within)
}
