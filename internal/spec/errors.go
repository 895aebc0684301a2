package spec

import (
	"errors"

	"github.com/berth-dev/berth/internal/tomlconf"
)

// ErrInvalid is matched (errors.Is) by every *Errors returned by Load and
// Parse, so callers can tell a bad spec from an unreadable file.
var ErrInvalid = errors.New("invalid app spec")

// Problem is one thing wrong with a spec, located in its file
// (File, Line, Col, Key, Msg; String gives "file:line:col: key: msg").
// The type is shared with berth's other config files.
// A Problem is a plain value and safe for concurrent use.
type Problem = tomlconf.Problem

// Errors holds every problem found in one spec, in file order.
// It is not modified after Parse returns it and is then safe for concurrent use.
type Errors struct {
	Problems []Problem
}

// Error joins the problems, one per line.
func (e *Errors) Error() string { return tomlconf.Lines(e.Problems) }

// Is reports whether target is ErrInvalid.
func (e *Errors) Is(target error) bool { return target == ErrInvalid }
