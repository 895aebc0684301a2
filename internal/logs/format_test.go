package logs

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzRecord checks that any text survives a record round trip and that
// parseRecord never panics on arbitrary bytes.
func FuzzRecord(f *testing.F) {
	for _, c := range lineCases {
		f.Add(strings.TrimSuffix(c.in, "\n"), false)
	}
	f.Add("x", true)
	f.Fuzz(func(t *testing.T, text string, more bool) {
		parseRecord([]byte(text)) // arbitrary bytes: must not panic
		if strings.Contains(text, "\n") {
			return // WriteLine never puts a newline in a record
		}
		var s stamper
		at := time.Date(2025, 1, 2, 3, 4, 5, 123456000, time.UTC)
		b := s.appendRecord(nil, Stderr, at, []byte(text), more)
		if len(b) != recordLen(Stderr, []byte(text), more) {
			t.Fatalf("record is %d bytes, recordLen says %d", len(b), recordLen(Stderr, []byte(text), more))
		}
		r := parseRecord(bytes.TrimSuffix(b, []byte("\n")))
		if !r.time.Equal(at) || r.stream != Stderr || r.more != more || string(r.text) != text {
			t.Fatalf("round trip of %q: got %+v", text, r)
		}
	})
}
