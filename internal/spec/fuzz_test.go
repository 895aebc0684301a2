package spec

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pelletier/go-toml/v2"

	"github.com/berth-dev/berth/internal/tomlconf"
)

func FuzzParse(f *testing.F) {
	f.Add(readExample(f))
	f.Add(Init("echo"))
	f.Add([]byte(minimal))
	for _, tt := range badCases {
		f.Add([]byte(tt.toml))
	}
	// A few of TestMutatedSpecs' damaged specs, so fuzzing starts near them.
	r := rand.New(rand.NewPCG(10, 2026))
	for i := 0; i < 20; i++ {
		data, _ := mutate(r, readExample(f))
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		app, err := Parse("berth.toml", data)
		if err == nil {
			if app == nil || app.Version != Version {
				t.Fatalf("Parse accepted %q as %+v", data, app)
			}
			return
		}
		var errs *Errors
		if !errors.As(err, &errs) || len(errs.Problems) == 0 {
			t.Fatalf("Parse error %v is not a non-empty *Errors", err)
		}
		for _, p := range errs.Problems {
			if p.Line < 1 || p.Col < 1 || p.Msg == "" {
				t.Fatalf("problem without a place or message: %+v", p)
			}
		}
	})
}

// TestGoTOMLAgrees decodes the good specs with go-toml's own strict decoder
// too: the position-keeping decoder must read the same values.
func TestGoTOMLAgrees(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data []byte
	}{
		{name: "example", data: readExample(t)},
		{name: "init", data: Init("echo")},
		{name: "minimal", data: []byte(minimal)},
	}
	for _, tt := range tests {
		var want App
		dec := toml.NewDecoder(bytesReader(tt.data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("%s: go-toml: %v", tt.name, err)
		}
		var got App
		doc, probs := tomlconf.Parse("berth.toml", tt.data)
		if probs != nil {
			t.Fatalf("%s: tomlconf.Parse: %v", tt.name, probs)
		}
		doc.Decode(&got)
		if probs := doc.Problems(); len(probs) > 0 {
			t.Fatalf("%s: problems: %v", tt.name, probs)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: (-go-toml +spec):\n%s", tt.name, diff)
		}
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
