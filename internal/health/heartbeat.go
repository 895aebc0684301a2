package health

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/spec"
)

// HeartbeatPath is the file an instance's heartbeat check looks at, which
// berth passes the instance as $BERTH_HEARTBEAT: the check's file (relative
// to the app's shared directory) with ".<color>" appended, so that two
// colors running at once beat in two files. An empty color adds nothing.
func HeartbeatPath(shared, file, color string) string {
	if !filepath.IsAbs(file) {
		file = filepath.Join(shared, file)
	}
	if color == "" {
		return file
	}
	return file + "." + color
}

// heartbeatProbe is the progress watchdog for agents that serve no port:
// passing means the instance showed a sign of progress within the window,
// and since it started, by touching its file or by printing a matching line.
type heartbeatProbe struct {
	check  spec.Check
	target Target
}

func (p *heartbeatProbe) Probe(ctx context.Context) Result {
	return run(ctx, p.check, p.do)
}

// since is the oldest beat that counts: within the window, and not before
// the instance started.
func (p *heartbeatProbe) since(now time.Time) time.Time {
	from := now.Add(-p.check.Within.Duration)
	if p.target.Since.After(from) {
		return p.target.Since
	}
	return from
}

func (p *heartbeatProbe) do(ctx context.Context) error {
	now := time.Now()
	if p.check.File != "" {
		return p.file(now)
	}
	re, err := regexp.Compile(p.check.Pattern)
	if err != nil {
		return fmt.Errorf("compiling the pattern: %w", err)
	}
	errFound := errors.New("found")
	from := p.since(now)
	err = logs.Read(ctx, p.target.LogPath, logs.Query{Since: from}, func(l logs.Line) error {
		if re.MatchString(l.Text) {
			return errFound
		}
		return nil
	})
	switch {
	case errors.Is(err, errFound):
		return nil
	case err != nil:
		return fmt.Errorf("reading the instance's output: %w", err)
	}
	if from.Equal(p.target.Since) {
		return fmt.Errorf("no output line matching %q since the instance started %s ago", p.check.Pattern, now.Sub(from).Round(time.Second))
	}
	return fmt.Errorf("no output line matching %q in the last %s", p.check.Pattern, p.check.Within.Duration)
}

// file judges a heartbeat file by its modification time.
func (p *heartbeatProbe) file(now time.Time) error {
	path := HeartbeatPath(p.target.Shared, p.check.File, p.target.Color)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("file %s does not exist: the instance has not beaten yet (touch $BERTH_HEARTBEAT)", path)
	}
	if err != nil {
		return fmt.Errorf("looking at the file: %w", err)
	}
	age := now.Sub(fi.ModTime()).Round(time.Second)
	if !p.target.Since.IsZero() && fi.ModTime().Before(p.target.Since) {
		return fmt.Errorf("file %s not touched since the instance started (last touched %s ago, by an earlier instance)", path, age)
	}
	if within := p.check.Within.Duration; now.Sub(fi.ModTime()) > within {
		return fmt.Errorf("file %s last touched %s ago, more than %s", path, age, within)
	}
	return nil
}
