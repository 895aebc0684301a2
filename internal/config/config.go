// Package config reads the daemon's own config file (daemon.toml in berth's
// home, or the file given to `berth daemon --config`): the admin listener,
// the global log cap, disk watches and alert sinks. Loading is strict, like
// the app spec: every problem is reported with file:line:col, and unknown
// keys get a "did you mean".
//
// A loaded *Daemon is immutable by convention: callers must not modify it,
// and it is then safe for concurrent use.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/berth-dev/berth/internal/tomlconf"
)

// FileName is the daemon config's name inside berth's home.
const FileName = "daemon.toml"

// Defaults that docs/daemon-config.md promises; keep the two in step.
const (
	DefaultAdminListen    = "127.0.0.1:9100"
	DefaultDiskWarn       = 80
	DefaultDiskCritical   = 90
	DefaultInodesWarn     = 90
	DefaultInodesCritical = 95
	DefaultDiskInterval   = 30 * time.Second
	DefaultDiskFor        = 3
	DefaultTimeToFull     = 24 * time.Hour
	DefaultGrowthWindow   = time.Hour
	DefaultStatfsTimeout  = 5 * time.Second
	DefaultAlertTimeout   = 10 * time.Second
	DefaultAlertRetries   = 3
)

// Sink types and severities accepted in [[alert]].
const (
	SinkWebhook = "webhook"
	SinkFile    = "file"
	SinkExec    = "exec"

	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Duration, ByteSize and Percent are the unit types shared with berth.toml.
type (
	Duration = tomlconf.Duration
	ByteSize = tomlconf.ByteSize
	Percent  = tomlconf.Percent
)

// Daemon is the daemon's config with every default filled in.
type Daemon struct {
	Admin Admin   `toml:"admin"`
	Logs  Logs    `toml:"logs"`
	Disk  []Disk  `toml:"disk"`
	Alert []Alert `toml:"alert"`
	Front Front   `toml:"front"`

	// File is the file it was loaded from, "" when the file does not exist
	// and every value is a default. Not read from TOML.
	File string `toml:"-"`
}

// Admin is the admin HTTP listener (/metrics, later the dashboard).
type Admin struct {
	Listen string `toml:"listen"` // host:port; "" turns the listener off; default 127.0.0.1:9100
}

// Logs holds host-wide log settings.
type Logs struct {
	MaxTotal ByteSize `toml:"max_total"` // cap on all apps' log files together; 0 (default) = only the per-app caps
}

// Disk is one watched filesystem, named by a path on it.
type Disk struct {
	Path string `toml:"path"` // absolute

	Warn     Percent `toml:"warn"`     // used space; default 80%; "0%" turns it off
	Critical Percent `toml:"critical"` // default 90%; "0%" turns it off

	WarnFree     ByteSize `toml:"warn_free"`     // free space below this warns; default 0 = off
	CriticalFree ByteSize `toml:"critical_free"` // default 0 = off

	InodesWarn     Percent `toml:"inodes_warn"`     // inodes used; default 90%
	InodesCritical Percent `toml:"inodes_critical"` // default 95%

	Interval   Duration `toml:"interval"`     // how often it is checked; default 30s
	For        int      `toml:"for"`          // consecutive checks before it fires and before it resolves; default 3
	TimeToFull Duration `toml:"time_to_full"` // alert when full within this; default 24h; "0s" turns it off
	Window     Duration `toml:"window"`       // growth is fitted over this much history; default 1h
	Timeout    Duration `toml:"timeout"`      // statfs timeout; default 5s
}

// Alert is one alert sink. The event journal is always a sink and is not
// configured here.
type Alert struct {
	Type        string   `toml:"type"`         // webhook | file | exec
	URL         string   `toml:"url"`          // webhook: http or https
	Path        string   `toml:"path"`         // file: JSON lines are appended here
	Command     []string `toml:"command"`      // exec: argv, never run by a shell
	Timeout     Duration `toml:"timeout"`      // per delivery attempt; default 10s
	Retries     int      `toml:"retries"`      // attempts after the first; default 3
	MinSeverity string   `toml:"min_severity"` // warning (default) | critical
}

// ErrInvalid is matched (errors.Is) by every *Errors that Load and Parse
// return, so callers can tell a bad config from an unreadable file.
var ErrInvalid = errors.New("invalid daemon config")

// Problem is one thing wrong with the file, located in it.
type Problem = tomlconf.Problem

// Errors holds every problem found in one config file, in file order.
// It is not modified after it is returned and is then safe for concurrent use.
type Errors struct {
	Problems []Problem
}

// Error joins the problems, one per line.
func (e *Errors) Error() string { return tomlconf.Lines(e.Problems) }

// Is reports whether target is ErrInvalid.
func (e *Errors) Is(target error) bool { return target == ErrInvalid }

// Load reads the config at path. A file that does not exist gives the
// defaults (with File ""); problems in the file are returned as *Errors.
// Load is safe for concurrent use.
func Load(path string) (*Daemon, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Default(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading daemon config: %w", err)
	}
	d, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	d.File = path
	return d, nil
}

// Parse parses and validates a config, filling in every default. file names
// the config in problems. Parse is safe for concurrent use.
func Parse(file string, data []byte) (*Daemon, error) {
	doc, probs := tomlconf.Parse(file, data)
	if probs != nil {
		return nil, &Errors{Problems: probs}
	}
	d := &Daemon{}
	doc.Decode(d)
	applyDefaults(d, doc.Root())
	validate(doc, d)
	if probs := doc.Problems(); len(probs) > 0 {
		return nil, &Errors{Problems: probs}
	}
	d.File = file
	return d, nil
}

// Default is the config used when there is no file.
func Default() *Daemon {
	d := &Daemon{}
	applyDefaults(d, nil)
	return d
}

// DiskDefaults is a [[disk]] with every default and the given path; the
// daemon watches berth's own filesystems (state, logs, releases) with it.
func DiskDefaults(path string) Disk {
	d := Disk{Path: path}
	diskDefaults(&d, nil)
	return d
}

// Disks returns the configured disks followed by one default watch for each
// of berth's own paths. The disk watcher keeps the first entry per
// filesystem, so a [[disk]] on the same filesystem as berth's home sets the
// thresholds for it.
func (d *Daemon) Disks(own ...string) []Disk {
	out := append([]Disk(nil), d.Disk...)
	for _, p := range own {
		out = append(out, DiskDefaults(p))
	}
	return out
}
