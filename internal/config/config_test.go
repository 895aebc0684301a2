package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// briefExample is the daemon.toml of issue 4; it must load as written.
const briefExample = `[admin]
listen = "127.0.0.1:9100"      # /metrics and, later, the dashboard

[logs]
max_total = "2GB"

[[disk]]
path = "/var/lib/berth"
warn = "80%"
critical = "90%"
interval = "30s"               # how often it is checked
for = 3                        # consecutive checks before it fires (and before it resolves)
time_to_full = "24h"

[[alert]]
type = "webhook"               # webhook | file | exec
url = "http://127.0.0.1:9000/hook"
`

func dur(d time.Duration) Duration { return Duration{Duration: d} }

func TestParseGood(t *testing.T) {
	t.Parallel()
	defDisk := func(p string) Disk { return DiskDefaults(p) }
	tests := []struct {
		name string
		toml string
		want Daemon
	}{{
		name: "brief example",
		toml: briefExample,
		want: Daemon{
			Admin: Admin{Listen: "127.0.0.1:9100"},
			Logs:  Logs{MaxTotal: 2_000_000_000},
			Disk:  []Disk{defDisk("/var/lib/berth")},
			Alert: []Alert{{Type: "webhook", URL: "http://127.0.0.1:9000/hook", Timeout: dur(10 * time.Second), Retries: 3, MinSeverity: "warning"}},
		},
	}, {
		name: "empty file is the defaults",
		toml: "",
		want: *Default(),
	}, {
		name: "every key",
		toml: `[admin]
listen = ""
[[disk]]
path = "/data"
warn = "70.5%"
critical = "0%"
warn_free = "10GB"
critical_free = "1GiB"
inodes_warn = "50%"
inodes_critical = "60%"
interval = "5s"
for = 1
time_to_full = "0s"
window = "10m"
timeout = "1s"
[[alert]]
type = "file"
path = "/var/log/alerts.jsonl"
[[alert]]
type = "exec"
command = ["/usr/bin/page", "--team", "ops"]
timeout = "3s"
retries = 0
min_severity = "critical"
`,
		want: Daemon{
			Disk: []Disk{{Path: "/data", Warn: 70.5, Critical: 0, WarnFree: 10_000_000_000, CriticalFree: 1 << 30,
				InodesWarn: 50, InodesCritical: 60, Interval: dur(5 * time.Second), For: 1, TimeToFull: dur(0),
				Window: dur(10 * time.Minute), Timeout: dur(time.Second)}},
			Alert: []Alert{
				{Type: "file", Path: "/var/log/alerts.jsonl", Timeout: dur(10 * time.Second), Retries: 3, MinSeverity: "warning"},
				{Type: "exec", Command: []string{"/usr/bin/page", "--team", "ops"}, Timeout: dur(3 * time.Second), MinSeverity: "critical"},
			},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse("daemon.toml", []byte(tt.toml))
			if err != nil {
				t.Fatal(err)
			}
			got.File = ""
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	d := Default()
	if d.Admin.Listen != "127.0.0.1:9100" || len(d.Disk) != 0 || len(d.Alert) != 0 {
		t.Errorf("Default() = %+v", d)
	}
	got := d.Disks("/var/lib/berth")
	want := []Disk{{Path: "/var/lib/berth", Warn: 80, Critical: 90, InodesWarn: 90, InodesCritical: 95,
		Interval: dur(30 * time.Second), For: 3, TimeToFull: dur(24 * time.Hour), Window: dur(time.Hour), Timeout: dur(5 * time.Second)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Disks (-want +got):\n%s", diff)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing, err := Load(filepath.Join(dir, "daemon.toml"))
	if err != nil || missing.File != "" || missing.Admin.Listen != DefaultAdminListen {
		t.Fatalf("Load(missing) = %+v, %v; want the defaults", missing, err)
	}
	file := filepath.Join(dir, "custom.toml")
	if err := os.WriteFile(file, []byte(briefExample), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Load(file)
	if err != nil || d.File != file || len(d.Disk) != 1 {
		t.Fatalf("Load = %+v, %v", d, err)
	}
	if err := os.WriteFile(file, []byte("[disk]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(file)
	if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), file+":1:") {
		t.Errorf("Load(bad) = %v; want ErrInvalid with the file name", err)
	}
	if _, err := Load(dir); err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("Load(directory) = %v; want a read error", err)
	}
}

// TestDocsExampleParses keeps the example in docs/daemon-config.md valid.
func TestDocsExampleParses(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/daemon-config.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## Example\n\n```toml\n")
	example, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatal("docs/daemon-config.md has no ```toml block under ## Example")
	}
	d, err := Parse("docs/daemon-config.md", []byte(example))
	if err != nil {
		t.Fatalf("the example does not parse:\n%v", err)
	}
	if len(d.Disk) == 0 || len(d.Alert) != 3 {
		t.Errorf("docs example parsed as %+v", d)
	}
}
