package spec

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is matched (errors.Is) by every *Errors returned by Load and
// Parse, so callers can tell a bad spec from an unreadable file.
var ErrInvalid = errors.New("invalid app spec")

// Problem is one thing wrong with a spec, located in its file.
// A Problem is a plain value and safe for concurrent use.
type Problem struct {
	File string // the file name as given to Load or Parse
	Line int    // 1-based
	Col  int    // 1-based, in bytes
	Key  string // dotted key path such as "checks[0].path"; "" for syntax errors
	Msg  string // what is wrong and what to do about it
}

// String formats the problem as "file:line:col: key: msg", the form editors
// and terminals turn into links.
func (p Problem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: ", p.File, p.Line, p.Col)
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Errors holds every problem found in one spec, in file order.
// It is not modified after Parse returns it and is then safe for concurrent use.
type Errors struct {
	Problems []Problem
}

// Error joins the problems, one per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Is reports whether target is ErrInvalid.
func (e *Errors) Is(target error) bool { return target == ErrInvalid }
