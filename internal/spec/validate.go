package spec

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/tomlconf"
)

// validator checks meaning after decoding: enums, ranges and how keys fit
// together. Each message says what is allowed or what to do.
type validator struct {
	doc      *tomlconf.Doc
	root     *tomlconf.Node
	warnings []Problem
}

// The patterns have no counted repetition: Go's regexp compiles x{0,251}
// into 251 copies of x, and these five cost 400 kB of heap at the start of
// every berth process (daemon, keeper, front). matchMax checks the length.
var (
	nameRe      = regexp.MustCompile(`^[a-z][a-z0-9-]*$`) // at most 40
	envKeyRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	userRe      = regexp.MustCompile(`^[a-z_][a-z0-9_-]*\$?$`)                    // at most 31 before the $
	checkNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)              // at most 63
	hostRe      = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`) // at most 253
)

// Lengths of the patterns above, in bytes (the patterns are ASCII).
const (
	maxName      = 40
	maxCheckName = 63
	maxHost      = 253
)

// matchMax reports whether s is at most max bytes and matches re.
func matchMax(re *regexp.Regexp, s string, max int) bool {
	return len(s) <= max && re.MatchString(s)
}

// validUser is userRe with its length: 1 to 31 characters, and a $ after.
func validUser(s string) bool {
	return len(strings.TrimSuffix(s, "$")) <= 31 && userRe.MatchString(s)
}

// fail records a problem at path unless path or a table above it was already
// reported by the decoder: a value that did not decode is not judged again.
func (v *validator) fail(path, format string, args ...any) {
	v.doc.Fail(path, format, args...)
}

// oneOf fails unless val is among allowed.
func (v *validator) oneOf(path, what, val string, allowed ...string) {
	v.doc.OneOf(path, what, val, allowed...)
}

// node returns the node at path, or nil.
func (v *validator) node(path string) *tomlconf.Node { return v.doc.Node(path) }

func (v *validator) app(a *App) {
	switch {
	case v.root.Field("name") == nil:
		v.fail("name", `missing; add name = "my-agent" (lowercase letters, digits and '-')`)
	case !matchMax(nameRe, a.Name, maxName):
		v.fail("name", "%q is not a valid name; use 1 to 40 lowercase letters, digits and '-', starting with a letter (it becomes the user berth-<name> and a directory name)", a.Name)
	}
	v.run(&a.Run)
	if a.Service != nil {
		v.service(a.Service)
	}
	v.deploy(&a.Deploy, a.Service)
	v.constraints(a)
	v.checks(a.Checks, a.Service != nil)
	v.logs(&a.Logs)
}

func (v *validator) run(r *Run) {
	if n := v.root.Field("run").Field("command"); n != nil && n.IsString() {
		r.Shell = true
		if strings.TrimSpace(r.Command[2]) == "" {
			v.fail("run.command", `is empty; give a shell line like "./my-agent --port $PORT" or an argv array`)
		}
		v.noNUL("run.command", r.Command[2:])
		v.env(r.Env)
		v.runRest(r)
		return
	}
	switch {
	case v.root.Field("run").Field("command") == nil && IsContainer(r.Runtime):
		// the image's own entrypoint and command run
	case v.root.Field("run").Field("command") == nil:
		v.fail("run.command", `missing; add command = ["./my-agent", "--flag"] under [run] (an argv array, never run by a shell)`)
	case len(r.Command) == 0:
		v.fail("run.command", `is empty; give the program and its arguments, like ["./my-agent", "--flag"]`)
	case r.Command[0] == "":
		v.fail("run.command[0]", "the program is empty; give a path such as \"./my-agent\"")
	case len(r.Command) == 1 && strings.ContainsAny(r.Command[0], " \t"):
		v.fail("run.command", "%q looks like a shell line, but an argv array is never run by a shell; split it: %s, or write it as a string to run it with /bin/sh -c", r.Command[0], argvHint(r.Command[0]))
	}
	v.noNUL("run.command", r.Command)
	v.expansions(r)
	v.env(r.Env)
	v.runRest(r)
}

// expansions checks that every variable an exec-form command names is one
// the instance will have, so a typo fails at validation, not at start.
func (v *validator) expansions(r *Run) {
	known := func(name string) (string, bool) {
		_, inEnv := r.Env[name]
		return "", inEnv || slices.Contains(InstanceVars, name)
	}
	if r.ShellExpands() {
		return
	}
	for i, arg := range r.Command {
		if name := secretIn(arg, r.Secrets); name != "" {
			v.fail(fmt.Sprintf("run.command[%d]", i), "${%s} is a secret, and secrets never go into argv (ps and the keeper's state show argv); let the agent read $%s from its environment", name, name)
			continue
		}
		if _, err := Expand(arg, known); err != nil {
			v.fail(fmt.Sprintf("run.command[%d]", i), "%v", err)
		}
	}
}

func (v *validator) env(env map[string]string) {
	for k, val := range env {
		p := tomlconf.Join("run.env", k)
		switch {
		case !envKeyRe.MatchString(k):
			v.fail(p, "%q is not a valid variable name; use letters, digits and '_', not starting with a digit", k)
		case k == "PORT":
			v.fail(p, "PORT is reserved: berth sets it to the port this instance must listen on; remove it (the public address is [service] listen)")
		case strings.ContainsRune(val, 0):
			v.fail(p, "the value contains a NUL byte, which no environment can hold")
		}
	}
}

func (v *validator) runRest(r *Run) {
	if r.User != "" && !validUser(r.User) {
		v.fail("run.user", "%q is not a valid user name; use lowercase letters, digits, '_' and '-', or leave it out to run as berth-<name>", r.User)
	}
	v.oneOf("run.restart", "a restart policy", r.Restart, RestartAlways, RestartOnFailure, RestartNever)
	v.oneOf("run.runtime", "a runtime", r.Runtime, RuntimeEmbedded, RuntimeSystemd, RuntimeAuto, RuntimeDocker, RuntimePodman)
	v.limits(r)
	v.container(r)
	v.systemdRun(r)
	v.secrets(r)
}

func argvHint(line string) string {
	parts := strings.Fields(line)
	q := make([]string, len(parts))
	for i, p := range parts {
		q[i] = strconv.Quote(p)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func (v *validator) noNUL(path string, argv []string) {
	for i, arg := range argv {
		if strings.ContainsRune(arg, 0) {
			v.fail(fmt.Sprintf("%s[%d]", path, i), "contains a NUL byte, which cannot be passed to a program")
		}
	}
}

func (v *validator) service(s *Service) {
	switch {
	case v.root.Field("service").Field("listen") == nil:
		if len(s.Hosts) == 0 {
			v.fail("service.listen", `missing; add listen = "127.0.0.1:8080" (the address users connect to), or hosts = ["app.example.com"] for the front door`)
		}
	default:
		if _, err := listenPort(s.Listen); err != nil {
			v.fail("service.listen", "%q: %v", s.Listen, err)
		}
	}
	v.oneOf("service.protocol", "a protocol", s.Protocol, ProtocolHTTP, ProtocolTCP)
	v.hosts(s)
}

// ListenPort returns the port of a valid [service] listen address.
func (s *Service) ListenPort() int {
	p, _ := listenPort(s.Listen)
	return p
}

// listenPort checks a host:port listen address; the host may be empty (all
// interfaces), an IP address or a host name. Port names are not accepted.
func listenPort(addr string) (int, error) {
	const want = `write host:port, like "127.0.0.1:8080", ":8080" or "[::1]:8080"`
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("not a host:port address; %s", want)
	}
	if host != "" && net.ParseIP(host) == nil && !matchMax(hostRe, host, maxHost) {
		return 0, fmt.Errorf("%q is not an IP address or host name; %s", host, want)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("the port must be a number from 1 to 65535; %s", want)
	}
	return n, nil
}

func (v *validator) logs(l *Logs) {
	v.oneOf("logs.on_full", "a full-disk policy", l.OnFull, OnFullDrop, OnFullBlock)
	if l.Keep < 0 {
		v.fail("logs.keep", "%d is negative; use 0 or more rotated files", l.Keep)
	}
	if l.MaxSize <= 0 {
		v.fail("logs.max_size", "must be more than 0, like \"10MB\"")
	}
	if l.MaxTotal < l.MaxSize {
		s, _ := l.MaxSize.MarshalText()
		v.fail("logs.max_total", "is smaller than max_size (%s); the cap must hold at least one full file", s)
	}
	if l.MaxAge.Duration != 0 && l.MaxAge.Duration < time.Minute {
		v.fail("logs.max_age", "%v is too short; rotate by age at most once a minute, or use 0s to rotate by size only", l.MaxAge.Duration)
	}
}
