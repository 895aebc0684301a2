package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type prob struct {
	Line, Col int
	Key, Msg  string
}

func TestParseProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		toml string
		want []prob
	}{{
		name: "syntax error",
		toml: "[admin\n",
		want: []prob{{1, 7, "", "expected ']' to close table name"}},
	}, {
		name: "unknown keys with suggestions",
		toml: "[admn]\n[[disk]]\npath = \"/\"\nwarn_fre = \"1GB\"\n[[alert]]\ntype = \"file\"\npath = \"/a\"\nretrys = 2\n",
		want: []prob{
			{1, 2, "admn", `did you mean "admin"?`},
			{4, 1, "disk[0].warn_fre", `did you mean "warn_free"?`},
			{8, 1, "alert[0].retrys", `did you mean "retries"?`},
		},
	}, {
		name: "wrong types",
		toml: "[[disk]]\npath = \"/\"\nwarn = 80\ninterval = 30\nfor = \"3\"\n[logs]\nmax_total = true\n",
		want: []prob{
			{3, 8, "disk[0].warn", `expected a percentage like "80%", got integer 80; quote it and add %, like "80%"`},
			{4, 12, "disk[0].interval", `quote it and add a unit, like "30s"`},
			{5, 7, "disk[0].for", `expected an integer, got string "3"`},
			{7, 13, "logs.max_total", "expected a size"},
		},
	}, {
		name: "disk as a table, not an array of tables",
		toml: "[disk]\npath = \"/\"\n",
		want: []prob{{1, 2, "disk", "expected an array of tables ([[disk]]), got a table"}},
	}, {
		name: "bad disk values",
		toml: "[[disk]]\nwarn = \"95%\"\ncritical = \"90%\"\ninodes_warn = \"101%\"\nwarn_free = \"1GB\"\ncritical_free = \"2GB\"\ninterval = \"10ms\"\nfor = 0\ntimeout = \"0s\"\n" +
			"[[disk]]\npath = \"relative\"\n[[disk]]\npath = \"/data/\"\nwindow = \"50s\"\n[[disk]]\npath = \"/data\"\n",
		want: []prob{
			{1, 3, "disk[0].path", "missing"},
			{2, 8, "disk[0].warn", "95% is not below critical (90%)"},
			{4, 15, "disk[0].inodes_warn", `"101%" is out of range`},
			{5, 13, "disk[0].warn_free", "is not above critical_free"},
			{7, 12, "disk[0].interval", "too short"},
			{8, 7, "disk[0].for", "use 1 or more"},
			{9, 11, "disk[0].timeout", "must be more than 0"},
			{11, 8, "disk[1].path", `"relative" is not absolute`},
			{14, 10, "disk[2].window", "holds fewer than two checks"},
			{16, 8, "disk[3].path", "already watched by disk[2]"},
		},
	}, {
		name: "bad sinks",
		toml: "[[alert]]\ntype = \"slack\"\n[[alert]]\ntype = \"webhook\"\nurl = \"ftp://x/\"\n[[alert]]\ntype = \"webhook\"\n" +
			"[[alert]]\ntype = \"exec\"\ncommand = [\"page --all\"]\npath = \"/x\"\n[[alert]]\ntype = \"file\"\npath = \"x.jsonl\"\nretries = 50\nmin_severity = \"info\"\n[[alert]]\ntype = \"journal\"\n[[alert]]\nurl = \"http://127.0.0.1/\"\n",
		want: []prob{
			{2, 8, "alert[0].type", `"slack" is not an alert sink; use one of: webhook, file, exec`},
			{5, 7, "alert[1].url", `scheme "ftp" is not supported`},
			{6, 3, "alert[2].url", "missing"},
			{10, 11, "alert[3].command", "looks like a shell line"},
			{11, 8, "alert[3].path", `only file sinks use path`},
			{14, 8, "alert[4].path", "not absolute"},
			{15, 11, "alert[4].retries", "use 0 to 20"},
			{16, 16, "alert[4].min_severity", `"info" is not a severity`},
			{18, 8, "alert[5].type", "always receives alerts"},
			{19, 3, "alert[6].type", "missing"},
		},
	}, {
		name: "bad admin listen",
		toml: "[admin]\nlisten = \"9100\"\n",
		want: []prob{{2, 10, "admin.listen", "not a host:port address"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("daemon.toml", []byte(tt.toml))
			var errs *Errors
			if !errors.As(err, &errs) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse = %v; want *Errors", err)
			}
			var got []prob
			for i, p := range errs.Problems {
				g := prob{p.Line, p.Col, p.Key, p.Msg}
				if i < len(tt.want) && contains(p.Msg, tt.want[i].Msg) {
					g.Msg = tt.want[i].Msg
				}
				got = append(got, g)
				if p.File != "daemon.toml" {
					t.Errorf("problem names file %q", p.File)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s\nall:\n%v", diff, err)
			}
		})
	}
}

func contains(s, sub string) bool { return sub != "" && strings.Contains(s, sub) }
