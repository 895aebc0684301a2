package spec

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Version is the only spec format version this berth reads.
const Version = 1

// Load reads and parses the spec at path. App.File and App.Dir are absolute.
// Problems in the spec are returned as *Errors (matching ErrInvalid); other
// errors come from reading the file. Load is safe for concurrent use.
func Load(path string) (*App, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading app spec: %w", err)
	}
	return Parse(path, data)
}

// Parse parses and validates a spec and fills in every default. file names
// the spec in problems (as given) and sets App.File and App.Dir (made
// absolute against the working directory). On failure it returns *Errors
// with every problem found, in file order. Parse is safe for concurrent use.
func Parse(file string, data []byte) (*App, error) {
	if p := syntaxProblem(file, data); p != nil {
		return nil, &Errors{Problems: []Problem{*p}}
	}
	root, err := buildTree(data)
	if err != nil {
		// Unreachable when go-toml accepted the document; kept so a parser
		// disagreement is an error, never a half-built spec.
		return nil, &Errors{Problems: []Problem{{File: file, Line: 1, Col: 1, Msg: err.Error()}}}
	}
	d := &decoder{file: file, bad: map[string]bool{}}
	app := &App{}
	d.decode(root, reflect.ValueOf(app).Elem(), "")
	if p := versionProblem(d, root, app); p != nil {
		return nil, &Errors{Problems: []Problem{*p}}
	}
	applyDefaults(app, root)
	(&validator{d: d, root: root}).app(app)
	if len(d.problems) > 0 {
		slices.SortStableFunc(d.problems, func(a, b Problem) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
		})
		return nil, &Errors{Problems: d.problems}
	}
	app.File = file
	if abs, err := filepath.Abs(file); err == nil {
		app.File = abs
	}
	app.Dir = filepath.Dir(app.File)
	return app, nil
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
			if full := keyPathAt(root, pos{p.Line, p.Col}, ""); full != "" {
				p.Key = full
			}
		}
	}
	p.Line, p.Col = max(p.Line, 1), max(p.Col, 1)
	return p
}

// versionProblem requires version = 1. A missing version is one problem
// among others (the rest is checked as version 1); an unsupported version is
// returned alone, since judging a future format by this one's rules would
// only add noise.
func versionProblem(d *decoder, root *node, app *App) *Problem {
	v := root.field("version")
	switch {
	case v == nil:
		d.add(pos{1, 1}, "version", "missing; add `version = %d` as the first line of the file", Version)
	case app.Version != Version && !d.bad["version"]:
		at := v.at()
		return &Problem{File: d.file, Line: at.line, Col: at.col, Key: "version",
			Msg: fmt.Sprintf("version %s is not supported; this berth reads version = %d", v.data, Version)}
	}
	return nil
}
