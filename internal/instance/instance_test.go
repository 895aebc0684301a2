package instance

import (
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		id   ID
		want string
	}{
		{"index 0 keeps the old name", New("web", "blue", 0), "web.blue"},
		{"later index", New("web", "green", 3), "web.green.3"},
		{"two digits", New("a-b", "blue", 12), "a-b.blue.12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.id.String(); got != tt.want {
				t.Fatalf("String = %q, want %q", got, tt.want)
			}
			back, err := Parse(tt.want)
			if err != nil || back != tt.id {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.want, back, err, tt.id)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{"", "web", ".blue", "web.", "web.blue.0", "web.blue.01", "web.blue.-1", "web.blue.x", "web.blue.1.2"} {
		if id, err := Parse(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %+v, %v; want ErrInvalid", s, id, err)
		}
	}
}

func TestOf(t *testing.T) {
	ids := Of("w", "blue", 3)
	if len(ids) != 3 || ids[2].String() != "w.blue.2" || ids[0].String() != "w.blue" {
		t.Fatalf("Of = %v", ids)
	}
	if n := len(Of("w", "blue", 0)); n != 1 {
		t.Fatalf("Of(0) has %d ids, want 1", n)
	}
}
