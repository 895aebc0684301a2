package systemd

import (
	"fmt"
	"strings"
	"time"
)

// Unit is a unit file as berth writes it: a header comment, then sections
// of directives in a fixed order, so that the same input renders the same
// bytes (provisioning compares bytes to decide whether anything changed).
// A Unit is a plain value.
type Unit struct {
	Comment  []string // lines written as "# ..." before the first section
	Sections []Section
}

// Section is one [Name] block of a unit.
type Section struct {
	Name       string
	Directives []Directive
}

// Directive is one Key=Value line. Value is written as is: escaping is the
// job of whoever builds it (ExecArg, EnvironmentAssignment, ...).
type Directive struct {
	Key, Value string
	Comment    string // optional "# ..." line written above the directive
}

// Render returns the unit file's bytes.
func (u Unit) Render() []byte {
	var b strings.Builder
	for _, c := range u.Comment {
		b.WriteString(strings.TrimRight("# "+c, " ") + "\n")
	}
	for i, s := range u.Sections {
		if i > 0 || len(u.Comment) > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "[%s]\n", s.Name)
		for _, d := range s.Directives {
			if d.Comment != "" {
				fmt.Fprintf(&b, "# %s\n", d.Comment)
			}
			fmt.Fprintf(&b, "%s=%s\n", d.Key, d.Value)
		}
	}
	return []byte(b.String())
}

// Get returns the values of every directive named key in section, in order.
func (u Unit) Get(section, key string) []string {
	var out []string
	for _, s := range u.Sections {
		if s.Name != section {
			continue
		}
		for _, d := range s.Directives {
			if d.Key == key {
				out = append(out, d.Value)
			}
		}
	}
	return out
}

// section is a small builder that keeps directives in insertion order.
type section struct{ s Section }

func (s *section) add(key, value string) {
	s.s.Directives = append(s.s.Directives, Directive{Key: key, Value: value})
}

func (s *section) addNote(key, value, comment string) {
	s.s.Directives = append(s.s.Directives, Directive{Key: key, Value: value, Comment: comment})
}

// timespan renders d the way systemd parses time spans: whole seconds as
// "10s", anything finer in milliseconds, rounded up so a timeout is never
// shortened.
func timespan(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", (d+time.Millisecond-1)/time.Millisecond)
}
