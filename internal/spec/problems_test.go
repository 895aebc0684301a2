package spec

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// prob is an expected Problem: exact place and key, Msg a substring.
type prob struct {
	Line, Col int
	Key, Msg  string
}

var badCases = []struct {
	name string
	toml string
	want []prob
}{{
	name: "syntax error",
	toml: "version = 1\nname = \"x\n",
	want: []prob{{2, 10, "", "basic strings cannot have new lines"}},
}, {
	name: "duplicate key",
	toml: minimal + "command = [\"./again\"]\n",
	want: []prob{{5, 1, "run.command", "already defined"}},
}, {
	name: "unknown variable in command",
	toml: "version = 1\nname = \"w\"\n[run]\ncommand = [\"./w\", \"--port=${PORT}\", \"${PROT}\", \"$\"]\n",
	want: []prob{
		{4, 37, "run.command[2]", "${PROT} is not set for the agent"},
		{4, 48, "run.command[3]", "lone $"},
	},
}, {
	name: "bad secret names",
	toml: minimal + "env = { DB_URL = \"x\" }\nsecrets = [\"API_KEY\", \"9X\", \"PORT\", \"API_KEY\", \"DB_URL\", \"BERTH_X\"]\n",
	want: []prob{
		{6, 23, "run.secrets[1]", "not a valid secret name"},
		{6, 29, "run.secrets[2]", "set by berth"},
		{6, 37, "run.secrets[3]", "listed twice"},
		{6, 48, "run.secrets[4]", "also in [run] env"},
		{6, 58, "run.secrets[5]", "set by berth"},
	},
}, {
	name: "a secret in argv",
	toml: "version = 1\nname = \"w\"\n[run]\ncommand = [\"./w\", \"--key=${API_KEY}\"]\nsecrets = [\"API_KEY\"]\n",
	want: []prob{{4, 19, "run.command[1]", "secrets never go into argv"}},
}, {
	name: "empty shell command",
	toml: "version = 1\nname = \"w\"\n[run]\ncommand = \" \"\n",
	want: []prob{{4, 11, "run.command", "is empty"}},
}, {
	name: "missing version",
	toml: "name = \"w\"\n[run]\ncommand = [\"./w\"]\n",
	want: []prob{{1, 1, "version", "add `version = 1`"}},
}, {
	name: "unsupported version is reported alone",
	toml: "version = 2\nname = \"BAD\"\n",
	want: []prob{{1, 11, "version", "version 2 is not supported"}},
}, {
	name: "version of the wrong type",
	toml: "version = \"1\"\nname = \"w\"\n[run]\ncommand = [\"./w\"]\n",
	want: []prob{{1, 11, "version", `expected an integer, got string "1"`}},
}, {
	name: "missing name and command point at 1:1 and the table header",
	toml: "version = 1\n\n[run]\nenv = {}\n",
	want: []prob{{1, 1, "name", "missing"}, {3, 2, "run.command", "missing; add command"}},
}, {
	name: "unknown keys everywhere, with suggestions",
	toml: "version = 1\nnmae = \"w\"\nname = \"w\"\n[run]\ncommand = [\"./w\"]\nstop_timout = \"1s\"\nzzzzzz = 1\n[logz]\n[[checks]]\nname = \"c\"\ntype = \"exec\"\ncommand = [\"./c\"]\nintervall = \"1s\"\n",
	want: []prob{
		{2, 1, "nmae", `did you mean "name"?`},
		{6, 1, "run.stop_timout", `did you mean "stop_timeout"?`},
		{7, 1, "run.zzzzzz", "allowed here: command, env, user, stop_timeout, restart, runtime"},
		{8, 2, "logz", `did you mean "logs"?`},
		{13, 1, "checks[0].intervall", `did you mean "interval"?`},
	},
}, {
	name: "type errors in dotted keys and inline tables",
	toml: "version = 1\nname = \"w\"\nrun.command = 7\nrun.stop_timeout = 10\nlogs = { keep = \"10\", compress = 1 }\ndeploy.ports = [9001, \"x\"]\n",
	want: []prob{
		{3, 15, "run.command", `expected an array of strings, got integer 7`},
		{4, 20, "run.stop_timeout", `quote it and add a unit, like "10s"`},
		{5, 17, "logs.keep", `expected an integer, got string "10"`},
		{5, 34, "logs.compress", "expected true or false, got integer 1"},
		{6, 23, "deploy.ports[1]", "expected an integer"},
	},
}, {
	name: "instances out of range",
	toml: "version = 1\nname = \"w\"\n[run]\ncommand = [\"./w\"]\n[deploy]\ninstances = 0\n",
	want: []prob{{6, 13, "deploy.instances", "0 is out of range; run 1 to 64"}},
}, {
	name: "instances with pinned ports",
	toml: "version = 1\nname = \"w\"\n[run]\ncommand = [\"./w\"]\n[service]\nlisten = \"127.0.0.1:8080\"\n[deploy]\ninstances = 3\nports = [9001, 9002]\n",
	want: []prob{{8, 13, "deploy.instances", "remove deploy.ports"}},
}, {
	name: "bad values",
	toml: "version = 1\nname = \"Echo_1\"\n[run]\ncommand = [\"./a b\"]\nenv = { PORT = \"1\", \"a-b\" = \"x\" }\nuser = \"Root\"\nrestart = \"sometimes\"\nruntime = \"docker\"\n" +
		"[service]\nlisten = \"localhost\"\nprotocol = \"udp\"\n[deploy]\nstrategy = \"blue\"\nkeep_releases = 0\nhealthy_after = 0\nkeep_warm = \"forever\"\nports = [9001, 9001]\nmax_error_rate = 1.5\nmax_latency_rise = 0.5\n",
	want: []prob{
		{2, 8, "name", `"Echo_1" is not a valid name`},
		{4, 11, "run.command", "looks like a shell line"},
		{5, 16, "run.env.PORT", "PORT is reserved"},
		{5, 29, "run.env.a-b", "not a valid variable name"},
		{6, 8, "run.user", "not a valid user name"},
		{7, 11, "run.restart", "use one of: always, on-failure, never"},
		{8, 11, "run.runtime", "a container runtime needs an image"},
		{10, 10, "service.listen", "not a host:port address"},
		{11, 12, "service.protocol", `"udp" is not a protocol; use one of: http, tcp`},
		{13, 12, "deploy.strategy", `"blue" is not a strategy; use one of: restart, bluegreen, rolling`},
		{14, 17, "deploy.keep_releases", "keep at least 1"},
		{15, 17, "deploy.healthy_after", "at least once"},
		{16, 13, "deploy.keep_warm", "neither"},
		{17, 16, "deploy.ports[1]", "used twice"},
		{18, 18, "deploy.max_error_rate", "from 0 to 1"},
		{19, 20, "deploy.max_latency_rise", "ratio of 1 or more"},
	},
}, {
	name: "ports clash with listen and range",
	toml: minimal + "[service]\nlisten = \":8080\"\n[deploy]\nports = [8080, 70000]\n",
	want: []prob{{8, 10, "deploy.ports[0]", "listen's port"}, {8, 16, "deploy.ports[1]", "use 1 to 65535"}},
}, {
	name: "ports count",
	toml: minimal + "[deploy]\nports = [9001]\n",
	want: []prob{{6, 9, "deploy.ports", "exactly two ports"}},
}, {
	name: "checks: names, types and keys that do not fit",
	toml: minimal + "[[checks]]\nname = \"a\"\ntype = \"http\"\n[[checks]]\nname = \"a\"\ntype = \"exec\"\npath = \"/x\"\n[[checks]]\ntype = \"grpc\"\nrole = \"boss\"\non_failure = \"panic\"\nretries = 0\ninterval = \"0s\"\n",
	want: []prob{
		{7, 8, "checks[0].type", "an http check probes the instance's own PORT"},
		{8, 3, "checks[1].command", "an exec check needs a command"},
		{9, 8, "checks[1].name", `"a" is already the name of checks[0]`},
		{11, 8, "checks[1].path", "only http checks use path"},
		{12, 3, "checks[2].name", "missing"},
		{13, 8, "checks[2].type", "use one of: http, tcp, exec"},
		{14, 8, "checks[2].role", "use one of: startup, liveness, readiness, functional"},
		{15, 14, "checks[2].on_failure", "use one of: alert, restart, rollback"},
		{16, 11, "checks[2].retries", "use 1 or more"},
		{17, 12, "checks[2].interval", "more than 0s"},
	},
}, {
	name: "http check details",
	toml: minimal + "[service]\nlisten = \":80\"\n[[checks]]\nname = \"h\"\ntype = \"http\"\npath = \"up\"\nmethod = \"get\"\nexpect_status = 42\ncommand = [\"x\"]\n",
	want: []prob{
		{10, 8, "checks[0].path", `must start with "/"`},
		{11, 10, "checks[0].method", "not an HTTP method"},
		{12, 17, "checks[0].expect_status", "use 100 to 599"},
		{13, 11, "checks[0].command", "only exec checks run a command"},
	},
}, {
	name: "bad durations and sizes",
	toml: minimal + "stop_timeout = \"-1s\"\n[logs]\nmax_size = \"10 parsecs\"\nmax_total = -5\nmax_age = \"10\"\non_full = \"explode\"\nkeep = -1\n",
	want: []prob{
		{5, 16, "run.stop_timeout", "negative"},
		{7, 12, "logs.max_size", "not a size"},
		{8, 13, "logs.max_total", "negative"},
		{9, 11, "logs.max_age", "not a duration"},
		{10, 11, "logs.on_full", "use one of: drop, block"},
		{11, 8, "logs.keep", "use 0 or more"},
	},
}, {
	name: "quoted keys are quoted in the path and still located",
	toml: minimal + "env = { \"A.B\" = \"x\", OK = \"y\" }\n",
	want: []prob{{5, 17, `run.env."A.B"`, "not a valid variable name"}},
}, {
	name: "max_total below max_size",
	toml: minimal + "[logs]\nmax_size = \"1GB\"\nmax_total = \"1MB\"\n",
	want: []prob{{7, 13, "logs.max_total", "smaller than max_size (1GB)"}},
}, {
	name: "a table where an array of tables is expected",
	toml: minimal + "[checks]\nname = \"x\"\n",
	want: []prob{{5, 2, "checks", "expected an array of tables ([[checks]]), got a table"}},
}}

func TestParseBad(t *testing.T) {
	t.Parallel()
	for _, tt := range badCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			app, err := Parse("berth.toml", []byte(tt.toml))
			var errs *Errors
			if !errors.As(err, &errs) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse = %+v, %v; want *Errors matching ErrInvalid", app, err)
			}
			var got []prob
			for i, p := range errs.Problems {
				if p.File != "berth.toml" {
					t.Errorf("problem %d: File = %q, want berth.toml", i, p.File)
				}
				msg := p.Msg
				if i < len(tt.want) && strings.Contains(p.Msg, tt.want[i].Msg) {
					msg = tt.want[i].Msg
				}
				got = append(got, prob{p.Line, p.Col, p.Key, msg})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got; Msg is a substring):\n%s\nfull error:\n%v", diff, err)
			}
		})
	}
}

func TestProblemString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    Problem
		want string
	}{
		{"with key", Problem{File: "berth.toml", Line: 12, Col: 3, Key: "deploy.strategy", Msg: `"blue" is not a strategy`}, `berth.toml:12:3: deploy.strategy: "blue" is not a strategy`},
		{"without key", Problem{File: "a/b.toml", Line: 1, Col: 1, Msg: "bad"}, "a/b.toml:1:1: bad"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	e := &Errors{Problems: []Problem{tests[0].p, tests[1].p}}
	if got, want := e.Error(), tests[0].want+"\n"+tests[1].want; got != want {
		t.Errorf("Errors.Error() = %q, want %q", got, want)
	}
}
