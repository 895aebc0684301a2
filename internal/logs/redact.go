package logs

import (
	"bytes"
	"sort"
)

// MinRedacted is the shortest value a Redactor replaces. Shorter values
// ("1", "true", a port) occur in ordinary output so often that replacing
// them would garble the log while hiding nothing an attacker could not
// guess; a value that short is not a secret worth the name.
const MinRedacted = 8

// Redactor replaces secret values in log lines by "[secret NAME]". A value
// of several lines (a PEM key) is matched line by line, since the log is
// written and redacted one line at a time. Build one with NewRedactor; it
// is immutable and safe for concurrent use.
type Redactor struct {
	pats   []redactPattern // longest first, so a value holding another wins
	maxLen int
}

type redactPattern struct {
	value []byte
	mark  []byte
}

// NewRedactor returns a Redactor for the values by name; nil when no value
// has a line of at least MinRedacted bytes (nothing to redact).
func NewRedactor(values map[string][]byte) *Redactor {
	r := &Redactor{}
	for name, v := range values {
		mark := []byte("[secret " + name + "]")
		for _, line := range bytes.Split(v, []byte{'\n'}) {
			line = bytes.TrimSuffix(line, []byte{'\r'})
			if len(line) >= MinRedacted {
				r.pats = append(r.pats, redactPattern{value: bytes.Clone(line), mark: mark})
				r.maxLen = max(r.maxLen, len(line))
			}
		}
	}
	if len(r.pats) == 0 {
		return nil
	}
	sort.Slice(r.pats, func(i, j int) bool {
		if len(r.pats[i].value) != len(r.pats[j].value) {
			return len(r.pats[i].value) > len(r.pats[j].value)
		}
		return bytes.Compare(r.pats[i].value, r.pats[j].value) < 0
	})
	return r
}

// RedactBuf is the scratch space of Redact, reused across calls by one
// goroutine.
type RedactBuf struct{ a, b []byte }

// Redact returns line with every value replaced: line itself when it holds
// none (the common case costs one search per value and no allocation),
// else a slice of buf, valid until the next call with buf (nil: allocate).
func (r *Redactor) Redact(line []byte, buf *RedactBuf) []byte {
	if r == nil {
		return line
	}
	first := -1
	for i, p := range r.pats {
		if bytes.Contains(line, p.value) {
			first = i
			break
		}
	}
	if first < 0 {
		return line
	}
	if buf == nil {
		buf = &RedactBuf{}
	}
	out, use, other := line, &buf.a, &buf.b
	for _, p := range r.pats[first:] {
		if !bytes.Contains(out, p.value) {
			continue
		}
		// Written into the buffer out does not point into (nor line).
		*use = replaceAll((*use)[:0], out, p.value, p.mark)
		out, use, other = *use, other, use
	}
	return out
}

// SafeCut is safeCut for a caller that writes long lines in pieces: a nil
// Redactor cuts anywhere.
func (r *Redactor) SafeCut(data []byte, cut int) int {
	if r == nil {
		return cut
	}
	return r.safeCut(data, cut)
}

// safeCut returns a cut point at or before cut such that no value found in
// data starts before it and ends after it; redacting data[:cut] then hides
// every value that begins there, and the rest waits for the next piece.
func (r *Redactor) safeCut(data []byte, cut int) int {
	for moved := true; moved; {
		moved = false
		for _, p := range r.pats {
			from := max(0, cut-len(p.value)+1)
			if i := bytes.Index(data[from:], p.value); i >= 0 && from+i < cut {
				cut, moved = from+i, true
			}
		}
	}
	return cut
}

func replaceAll(dst, s, old, repl []byte) []byte {
	for {
		i := bytes.Index(s, old)
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(append(dst, s[:i]...), repl...)
		s = s[i+len(old):]
	}
}
