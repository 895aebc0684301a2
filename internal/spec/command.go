package spec

import (
	"fmt"
	"slices"
	"strings"
)

// Shell is the program a string command runs through, as Docker's shell form
// does: command = "a | b" runs ["/bin/sh", "-c", "a | b"].
const Shell = "/bin/sh"

// Command is the agent's argv. Written as an array it is exec form: no shell
// runs, and berth itself expands ${NAME} and $NAME from the instance's
// environment ($$ is a literal $). Written as a string it is shell form: the
// argv is [Shell, "-c", line] and the shell does all expansion. An array
// whose program is a shell (["sh", "-c", "..."]) is left to that shell as
// well: berth expanding it would change what $$, $0 or quotes mean there.
// A Command is a plain value and safe for concurrent reads.
type Command []string

// DecodeString makes c the shell form of line; the TOML decoder calls it when
// command is a string.
func (c *Command) DecodeString(line string) { *c = Command{Shell, "-c", line} }

// InstanceVars are the variables berth sets in every instance's environment;
// exec-form commands may use them and the keys of run.env.
var InstanceVars = []string{"PATH", "LANG", "HOME", "PORT", "BERTH_APP", "BERTH_COLOR",
	"BERTH_RELEASE", "BERTH_SHARED", "BERTH_INSTANCE"}

// shells are the programs whose scripts berth leaves to them to expand.
var shells = []string{"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"}

// ShellExpands reports whether a shell, not berth, expands the command's
// variables: shell form, or an exec form that runs a shell.
func (r *Run) ShellExpands() bool {
	if r.Shell {
		return true
	}
	if len(r.Command) == 0 {
		return false
	}
	prog := r.Command[0]
	if i := strings.LastIndexByte(prog, '/'); i >= 0 {
		prog = prog[i+1:]
	}
	return slices.Contains(shells, prog)
}

// Argv returns the argv to run with environ (KEY=VALUE entries, the instance's
// whole environment): shell form as is, exec form with its variables
// expanded. A variable not in environ is an error.
func (r *Run) Argv(environ []string) ([]string, error) {
	if r.ShellExpands() {
		return append([]string(nil), r.Command...), nil
	}
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	out := make([]string, len(r.Command))
	for i, arg := range r.Command {
		s, err := Expand(arg, func(name string) (string, bool) { v, ok := env[name]; return v, ok })
		if err != nil {
			return nil, fmt.Errorf("expanding run.command[%d]: %w", i, err)
		}
		out[i] = s
	}
	return out, nil
}

// Expand replaces ${NAME} and $NAME in s by lookup(NAME); $$ is a literal $.
// An unknown name, an unclosed ${ or a $ followed by anything else is an
// error that says how to write it.
func Expand(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		name, n, err := varAt(s[i:])
		if err != nil {
			return "", err
		}
		i += n
		if name == "" {
			b.WriteByte('$')
			continue
		}
		v, ok := lookup(name)
		if !ok {
			return "", fmt.Errorf("${%s} is not set for the agent; use one of %s or a key of [run.env], or write $$ for a literal $", name, strings.Join(InstanceVars, ", "))
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// varAt reads the reference at the start of s (which starts with '$'): the
// variable's name ("" for $$) and how many bytes it spans.
func varAt(s string) (string, int, error) {
	const hint = "write ${NAME} for a variable or $$ for a literal $"
	if len(s) < 2 {
		return "", 0, fmt.Errorf("a lone $ at the end; %s", hint)
	}
	switch c := s[1]; {
	case c == '$':
		return "", 2, nil
	case c == '{':
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return "", 0, fmt.Errorf("%q has no closing }; %s", s, hint)
		}
		name := s[2:end]
		if !envKeyRe.MatchString(name) {
			return "", 0, fmt.Errorf("${%s} is not a variable name; %s", name, hint)
		}
		return name, end + 1, nil
	case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
		n := 2
		for n < len(s) && (s[n] == '_' || s[n] >= 'A' && s[n] <= 'Z' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= '0' && s[n] <= '9') {
			n++
		}
		return s[1:n], n, nil
	default:
		return "", 0, fmt.Errorf("$%c is not a variable; %s", c, hint)
	}
}
