// Package tomlconf is berth's strict TOML reader for its config files
// (berth.toml, daemon.toml): it decodes into tagged structs without stopping
// at the first problem, and every problem points at file:line:col, with "did
// you mean" for unknown keys. The packages that own a file add defaults and
// validation on top, through Doc.
package tomlconf

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Problem is one thing wrong with a config file, located in it.
// A Problem is a plain value and safe for concurrent use.
type Problem struct {
	File string // the file name as given to Parse
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

// Doc is one parsed document and the problems found in it so far. It is
// used by one goroutine while a file is loaded; it is not safe for
// concurrent use.
type Doc struct {
	file     string
	root     *Node
	problems []Problem
	bad      map[string]bool // key paths already reported, so validation does not pile on
}

// Parse checks data as TOML and builds its position tree. A syntax error
// (including duplicate keys and redefined tables) is returned alone, as the
// only problem: nothing after it can be trusted.
func Parse(file string, data []byte) (*Doc, []Problem) {
	if p := syntaxProblem(file, data); p != nil {
		return nil, []Problem{*p}
	}
	root, err := buildTree(data)
	if err != nil {
		// Unreachable when go-toml accepted the document; kept so a parser
		// disagreement is an error, never a half-built config.
		return nil, []Problem{{File: file, Line: 1, Col: 1, Msg: err.Error()}}
	}
	return &Doc{file: file, root: root, bad: map[string]bool{}}, nil
}

// File is the file name given to Parse.
func (d *Doc) File() string { return d.file }

// Root is the document's top-level table.
func (d *Doc) Root() *Node { return d.root }

// Decode sets *v (a pointer to a struct with `toml` tags) from the document,
// recording a problem for every unknown key and every value of the wrong
// type or form, and goes on after each.
func (d *Doc) Decode(v any) {
	d.decode(d.root, reflect.ValueOf(v).Elem(), "")
}

// Add records a problem at at, about key.
func (d *Doc) Add(at Pos, key, format string, args ...any) {
	if at.Line < 1 {
		at = Pos{1, 1}
	}
	d.problems = append(d.problems, Problem{
		File: d.file, Line: at.Line, Col: at.Col, Key: key,
		Msg: fmt.Sprintf(format, args...),
	})
	d.bad[key] = true
}

// Bad reports whether a problem was already recorded about key.
func (d *Doc) Bad(key string) bool { return d.bad[key] }

// Fail records a problem about the value at path, pointing at it (or at the
// nearest table written), unless path or a table above it was already
// reported: a value that did not decode is not judged again.
func (d *Doc) Fail(path, format string, args ...any) {
	for p := path; p != ""; p = parentPath(p) {
		if d.bad[p] {
			return
		}
	}
	d.Add(d.Locate(path), path, format, args...)
}

// OneOf fails path unless val is among allowed; what names the kind of
// value ("a protocol").
func (d *Doc) OneOf(path, what, val string, allowed ...string) {
	if slices.Contains(allowed, val) {
		return
	}
	d.Fail(path, "%q is not %s; use one of: %s", val, what, strings.Join(allowed, ", "))
}

// Problems returns the problems recorded so far, in file order.
func (d *Doc) Problems() []Problem {
	out := slices.Clone(d.problems)
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return out
}

// syntaxProblem lets go-toml judge the document as TOML (syntax, duplicate
// keys, redefined tables), which the position tree does not check.
func syntaxProblem(file string, data []byte) *Problem {
	var m map[string]any
	err := toml.Unmarshal(data, &m)
	if err == nil {
		return nil
	}
	p := &Problem{File: file, Line: 1, Col: 1, Msg: err.Error()}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		p.Line, p.Col = de.Position()
		p.Key = strings.Join(de.Key(), ".")
		p.Msg = strings.TrimPrefix(de.Error(), "toml: ")
		// go-toml names a duplicate key relative to its table; the tree,
		// which tolerates duplicates, knows the full path.
		if root, err := buildTree(data); err == nil && p.Key != "" {
			if full := keyPathAt(root, Pos{p.Line, p.Col}, ""); full != "" {
				p.Key = full
			}
		}
	}
	p.Line, p.Col = max(p.Line, 1), max(p.Col, 1)
	return p
}

// Lines formats problems one per line, the message of an error that holds
// every problem of a file.
func Lines(problems []Problem) string {
	lines := make([]string, len(problems))
	for i, p := range problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
