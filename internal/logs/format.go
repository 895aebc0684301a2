package logs

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Stream names which pipe a line came from.
type Stream string

// The streams of an agent.
const (
	Stdout Stream = "out"
	Stderr Stream = "err"
)

// TimeFormat is the fixed-width UTC timestamp that starts every line.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// moreMark follows the stream tag on a piece of a line that goes on in the
// next record of the same stream.
const moreMark = '+'

// ErrBadStream is returned for a stream name the file format cannot carry.
var ErrBadStream = errors.New("stream name must be non-empty, without spaces, newlines or '+'")

func checkStream(s Stream) error {
	if s == "" || len(s) > 16 || bytes.ContainsAny([]byte(s), " \t\r\n+") {
		return fmt.Errorf("checking stream %q: %w", s, ErrBadStream)
	}
	return nil
}

// stamper formats record times. It caches the part that changes once a
// second because formatting dominates the cost of a short line.
type stamper struct {
	sec    int64
	prefix [20]byte // "2006-01-02T15:04:05."
}

func (s *stamper) append(dst []byte, t time.Time) []byte {
	t = t.UTC()
	if sec := t.Unix(); sec != s.sec || s.prefix[0] == 0 {
		s.sec = sec
		copy(s.prefix[:], t.AppendFormat(nil, "2006-01-02T15:04:05."))
	}
	dst = append(dst, s.prefix[:]...)
	us := t.Nanosecond() / 1000
	var d [6]byte
	for i := 5; i >= 0; i-- {
		d[i] = byte('0' + us%10)
		us /= 10
	}
	dst = append(dst, d[:]...)
	return append(dst, 'Z')
}

// recordLen is the size of the record appendRecord writes.
func recordLen(stream Stream, text []byte, more bool) int {
	n := len(TimeFormat) + 1 + len(stream) + 1 + len(text) + 1
	if more {
		n++
	}
	return n
}

func (s *stamper) appendRecord(dst []byte, stream Stream, t time.Time, text []byte, more bool) []byte {
	dst = s.append(dst, t)
	dst = append(dst, ' ')
	dst = append(dst, stream...)
	if more {
		dst = append(dst, moreMark)
	}
	dst = append(dst, ' ')
	dst = append(dst, text...)
	return append(dst, '\n')
}

// record is one parsed line of a log file.
type record struct {
	time   time.Time
	stream Stream
	more   bool
	text   []byte // aliases the input
}

// parseRecord parses one record without its newline. A line that is not a
// record (a file someone else wrote into) comes back whole as text with no
// stream and no time, so nothing a reader asked for vanishes silently.
func parseRecord(b []byte) record {
	n := len(TimeFormat)
	if len(b) < n+2 || b[n] != ' ' {
		return record{text: b}
	}
	t, err := time.Parse(TimeFormat, string(b[:n]))
	if err != nil {
		return record{text: b}
	}
	rest := b[n+1:]
	tag := rest
	if i := bytes.IndexByte(rest, ' '); i >= 0 {
		tag, rest = rest[:i], rest[i+1:]
	} else {
		rest = nil
	}
	r := record{time: t, text: rest}
	if len(tag) > 0 && tag[len(tag)-1] == moreMark {
		r.more = true
		tag = tag[:len(tag)-1]
	}
	r.stream = Stream(tag)
	return r
}

// splitPoint returns where to cut text so the first piece has at most max
// bytes, backing off up to 3 bytes so a valid multi-byte character stays in
// one piece (joining restores the bytes either way; this helps grep).
func splitPoint(text []byte, max int) int {
	if len(text) <= max {
		return len(text)
	}
	cut := max
	for i := 0; i < 3 && cut-i > 0; i++ {
		if text[cut-i]&0xC0 != 0x80 { // not a continuation byte: a character starts here
			return cut - i
		}
	}
	return cut
}
