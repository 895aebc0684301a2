package logs

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var stanzaCases = []struct {
	name         string
	paths        []string
	opt          Options
	user         string
	copytruncate bool
}{
	{name: "size", paths: []string{"/var/log/app/out.log"}, opt: Options{MaxSize: 10_000_000, Keep: 10, Compress: true}, user: "app"},
	{name: "age_and_size", paths: []string{"/var/log/app/a.log", "/var/log/app/b log.log"}, opt: Options{MaxSize: 1 << 20, MaxAge: 24 * time.Hour, Keep: 5, MaxTotal: 500_000_000}, user: "app:adm"},
	{name: "hourly_keep_all", paths: []string{"/srv/x.log"}, opt: Options{MaxAge: time.Hour, Keep: -1}, user: ""},
	{name: "copytruncate", paths: []string{"/var/log/app/out.log"}, opt: Options{MaxSize: 5 << 20, Keep: 3, Compress: true}, user: "app", copytruncate: true},
	{name: "unsafe_paths", paths: []string{"/ok.log", "/bad\".log", "/x}\n/etc/passwd {"}, opt: Options{MaxSize: 100, Keep: 1}, user: "app"},
}

// TestLogrotateStanza compares each stanza with its golden file
// (go test -run TestLogrotateStanza -update rewrites them).
func TestLogrotateStanza(t *testing.T) {
	t.Parallel()
	for _, tt := range stanzaCases {
		t.Run(tt.name, func(t *testing.T) {
			got := LogrotateStanza(tt.paths, tt.opt, tt.user, tt.copytruncate)
			golden := filepath.Join("testdata", "logrotate_"+tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if strings.Contains(got, "\n    copytruncate\n") != tt.copytruncate {
				t.Errorf("copytruncate present = %v, asked %v", !tt.copytruncate, tt.copytruncate)
			}
		})
	}
}

// TestLogrotateAccepts has the real logrotate parse each stanza and dry-run
// it against real files (-d changes nothing).
func TestLogrotateAccepts(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("logrotate")
	if err != nil {
		t.Skip("logrotate not installed (apt-get install -y --no-install-recommends logrotate); skipping the check of the stanza by logrotate itself")
	}
	for _, tt := range stanzaCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var paths []string
			for _, p := range tt.paths {
				local := filepath.Join(dir, filepath.Base(p))
				if !strings.ContainsAny(p, "\"{}\n") {
					if err := os.WriteFile(local, []byte("some log line\n"), 0o640); err != nil {
						t.Fatal(err)
					}
				}
				paths = append(paths, local)
			}
			user := ""
			if tt.user != "" {
				user = "root" // a user that exists here
			}
			conf := filepath.Join(dir, "berth.conf")
			if err := os.WriteFile(conf, []byte(LogrotateStanza(paths, tt.opt, user, tt.copytruncate)), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "-d", "-s", filepath.Join(dir, "state"), conf).CombinedOutput()
			if err != nil || strings.Contains(string(out), "error:") {
				t.Fatalf("logrotate rejected the stanza (%v):\n%s", err, out)
			}
			if !strings.Contains(string(out), "rotating pattern") {
				t.Errorf("logrotate did not take the stanza:\n%s", out)
			}
		})
	}
}
