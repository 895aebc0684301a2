package spec

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// mutants is how many mutated specs TestMutatedSpecs parses.
const mutants = 2000

// mutation is one way of damaging a valid spec.
type mutation struct {
	name string
	fn   func(r *rand.Rand, b []byte) []byte
}

// mutations damage bytes, lines and values the way hands and editors do.
var mutations = []mutation{
	{"delete byte", func(r *rand.Rand, b []byte) []byte {
		i := r.IntN(len(b))
		return append(b[:i:i], b[i+1:]...)
	}},
	{"duplicate byte", func(r *rand.Rand, b []byte) []byte {
		i := r.IntN(len(b))
		return append(b[:i+1:i+1], b[i:]...)
	}},
	{"swap bytes", func(r *rand.Rand, b []byte) []byte {
		i, j := r.IntN(len(b)), r.IntN(len(b))
		b[i], b[j] = b[j], b[i]
		return b
	}},
	{"insert special byte", func(r *rand.Rand, b []byte) []byte {
		specials := []byte("\"'[]{}=,.#\n\t\\ \x00\xff\xc3")
		i := r.IntN(len(b) + 1)
		return append(b[:i:i], append([]byte{specials[r.IntN(len(specials))]}, b[i:]...)...)
	}},
	{"truncate", func(r *rand.Rand, b []byte) []byte { return b[:r.IntN(len(b))] }},
	{"delete line", func(r *rand.Rand, b []byte) []byte {
		ls := lines(b)
		i := r.IntN(len(ls))
		return join(append(ls[:i:i], ls[i+1:]...))
	}},
	{"duplicate line", func(r *rand.Rand, b []byte) []byte {
		ls := lines(b)
		i := r.IntN(len(ls))
		return join(append(ls[:i+1:i+1], ls[i:]...))
	}},
	{"swap lines", func(r *rand.Rand, b []byte) []byte {
		ls := lines(b)
		i, j := r.IntN(len(ls)), r.IntN(len(ls))
		ls[i], ls[j] = ls[j], ls[i]
		return join(ls)
	}},
	{"replace value", func(r *rand.Rand, b []byte) []byte {
		ls := lines(b)
		i := r.IntN(len(ls))
		k, _, ok := strings.Cut(ls[i], "=")
		if !ok {
			return join(ls)
		}
		values := []string{`""`, `"x"`, `0`, `-1`, `99999999999999999999`, `1.5`, `true`, `[]`, `[1, "a"]`,
			`{}`, `{ a = 1 }`, `"1ms"`, `"-5s"`, `"999999h"`, `"0.0.0.0:99999"`, `1979-05-27T07:32:00Z`,
			`"` + strings.Repeat("a", 300) + `"`, `inf`, `nan`, `"\u0000"`, `[[1]]`, `"../../etc"`}
		ls[i] = k + "= " + values[r.IntN(len(values))]
		return join(ls)
	}},
	{"swap values", func(r *rand.Rand, b []byte) []byte {
		ls := lines(b)
		i, j := r.IntN(len(ls)), r.IntN(len(ls))
		ki, vi, oki := strings.Cut(ls[i], "=")
		kj, vj, okj := strings.Cut(ls[j], "=")
		if oki && okj {
			ls[i], ls[j] = ki+"="+vj, kj+"="+vi
		}
		return join(ls)
	}},
	{"retype table", func(r *rand.Rand, b []byte) []byte {
		ls := lines(b)
		i := r.IntN(len(ls))
		switch s := strings.TrimSpace(ls[i]); {
		case strings.HasPrefix(s, "[["):
			ls[i] = strings.Replace(strings.Replace(s, "[[", "[", 1), "]]", "]", 1)
		case strings.HasPrefix(s, "["):
			ls[i] = "[" + s + "]"
		default:
			ls[i] = "[" + s + "]"
		}
		return join(ls)
	}},
}

func lines(b []byte) []string { return strings.Split(string(b), "\n") }
func join(ls []string) []byte { return []byte(strings.Join(ls, "\n")) }

// mutate applies one to three mutations to a copy of base and names them.
func mutate(r *rand.Rand, base []byte) ([]byte, string) {
	b := bytes.Clone(base)
	var names []string
	for n := 1 + r.IntN(3); n > 0 && len(b) > 0; n-- {
		m := mutations[r.IntN(len(mutations))]
		b = m.fn(r, b)
		names = append(names, m.name)
	}
	return b, strings.Join(names, ", ")
}

// TestMutatedSpecs parses and validates 2,000 damaged copies of valid specs:
// none may panic or hang, and every rejection must say where (file:line:col
// inside the file) and what. The seed is fixed so a failure is repeatable.
func TestMutatedSpecs(t *testing.T) {
	t.Parallel()
	bases := [][]byte{readExample(t), Init("echo"), []byte(minimal)}
	r := rand.New(rand.NewPCG(10, 2026))
	var rejected int
	for i := 0; i < mutants; i++ {
		base := bases[i%len(bases)]
		data, how := mutate(r, base)
		err := parseBounded(t, data, 5*time.Second)
		if err == nil {
			continue
		}
		rejected++
		if msg := checkProblems(err, data); msg != "" {
			t.Fatalf("mutant %d (%s): %s\nerror: %v\nspec:\n%s", i, how, msg, err, data)
		}
	}
	t.Logf("%d mutants, %d rejected, %d still valid", mutants, rejected, mutants-rejected)
	if rejected < mutants/2 {
		t.Errorf("only %d of %d mutants were rejected: the mutations do not damage enough", rejected, mutants)
	}
}

// parseBounded runs Parse in its own goroutine so that a panic is reported
// with its input and a hang fails the test instead of stalling it.
func parseBounded(t *testing.T, data []byte, limit time.Duration) error {
	t.Helper()
	type outcome struct {
		err   error
		panic any
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- outcome{panic: p}
			}
		}()
		_, err := Parse("berth.toml", data)
		done <- outcome{err: err}
	}()
	select {
	case o := <-done:
		if o.panic != nil {
			t.Fatalf("Parse panicked: %v\nspec:\n%s", o.panic, data)
		}
		return o.err
	case <-time.After(limit):
		t.Fatalf("Parse did not return within %s\nspec:\n%s", limit, data)
		return nil
	}
}

// checkProblems says what is wrong with a rejection, or "".
func checkProblems(err error, data []byte) string {
	var errs *Errors
	if !errors.As(err, &errs) || len(errs.Problems) == 0 {
		return "error is not a non-empty *Errors"
	}
	if !errors.Is(err, ErrInvalid) {
		return "error does not match ErrInvalid"
	}
	nlines := bytes.Count(data, []byte("\n")) + 1
	for _, p := range errs.Problems {
		switch {
		case p.File != "berth.toml":
			return fmt.Sprintf("problem names file %q: %+v", p.File, p)
		case p.Line < 1 || p.Line > nlines:
			return fmt.Sprintf("problem line %d outside 1..%d: %+v", p.Line, nlines, p)
		case p.Col < 1:
			return fmt.Sprintf("problem without a column: %+v", p)
		case strings.TrimSpace(p.Msg) == "":
			return fmt.Sprintf("problem without a message: %+v", p)
		}
		if want := fmt.Sprintf("berth.toml:%d:%d: ", p.Line, p.Col); !strings.HasPrefix(p.String(), want) {
			return fmt.Sprintf("problem prints as %q, want prefix %q", p.String(), want)
		}
	}
	return ""
}
