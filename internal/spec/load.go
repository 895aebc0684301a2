package spec

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/tomlconf"
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
	doc, probs := tomlconf.Parse(file, data)
	if probs != nil {
		return nil, &Errors{Problems: probs}
	}
	app := &App{}
	doc.Decode(app)
	if p := versionProblem(doc, app); p != nil {
		return nil, &Errors{Problems: []Problem{*p}}
	}
	applyDefaults(app, doc.Root())
	v := &validator{doc: doc, root: doc.Root()}
	v.app(app)
	if probs := doc.Problems(); len(probs) > 0 {
		return nil, &Errors{Problems: probs}
	}
	app.Warnings = v.warnings
	app.File = file
	if abs, err := filepath.Abs(file); err == nil {
		app.File = abs
	}
	app.Dir = filepath.Dir(app.File)
	return app, nil
}

// versionProblem requires version = 1. A missing version is one problem
// among others (the rest is checked as version 1); an unsupported version is
// returned alone, since judging a future format by this one's rules would
// only add noise.
func versionProblem(doc *tomlconf.Doc, app *App) *Problem {
	v := doc.Root().Field("version")
	switch {
	case v == nil:
		doc.Add(tomlconf.Pos{Line: 1, Col: 1}, "version", "missing; add `version = %d` as the first line of the file", Version)
	case app.Version != Version && !doc.Bad("version"):
		at := v.At()
		return &Problem{File: doc.File(), Line: at.Line, Col: at.Col, Key: "version",
			Msg: fmt.Sprintf("version %s is not supported; this berth reads version = %d", v.Text(), Version)}
	}
	return nil
}

// Locate returns a problem about key (a dotted path such as
// "constraints.downtime") in the spec data of file, pointing at the key's
// value when written, else at the nearest table above it, else 1:1. It lets
// a consumer of a parsed *App (such as the planner) report at file:line:col.
func Locate(file string, data []byte, key, msg string) Problem {
	p := Problem{File: file, Line: 1, Col: 1, Key: key, Msg: msg}
	if doc, probs := tomlconf.Parse(file, data); probs == nil {
		at := doc.Locate(key)
		p.Line, p.Col = at.Line, at.Col
	}
	return p
}
