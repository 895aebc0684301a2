package logs

import (
	"bytes"
	"slices"
	"time"
)

// joiner puts split lines back together: pieces tagged "+" wait, per
// stream, for the piece with the plain tag.
type joiner struct {
	carry   []byte // bytes of a record whose newline has not been read yet
	pending map[Stream]*piece
	order   []Stream // streams with pending pieces, oldest first
}

type piece struct {
	time time.Time
	text []byte
}

func newJoiner() *joiner { return &joiner{pending: make(map[Stream]*piece, 2)} }

func indexNL(b []byte) int { return bytes.IndexByte(b, '\n') }

// add takes one record and returns a Line when it completes one.
func (j *joiner) add(r record) (Line, bool) {
	if r.stream == "" {
		return Line{Text: string(r.text)}, true
	}
	p := j.pending[r.stream]
	if r.more {
		if p == nil {
			p = &piece{time: r.time}
			j.pending[r.stream] = p
			j.order = append(j.order, r.stream)
		}
		p.text = append(p.text, r.text...)
		return Line{}, false
	}
	if p == nil {
		return Line{Time: r.time, Stream: r.stream, Text: string(r.text)}, true
	}
	delete(j.pending, r.stream)
	j.order = slices.DeleteFunc(j.order, func(s Stream) bool { return s == r.stream })
	return Line{Time: p.time, Stream: r.stream, Text: string(p.text) + string(r.text)}, true
}

// drain returns the unfinished lines, oldest first, and forgets them.
func (j *joiner) drain() []Line {
	var out []Line
	for _, s := range j.order {
		p := j.pending[s]
		out = append(out, Line{Time: p.time, Stream: s, Text: string(p.text)})
		delete(j.pending, s)
	}
	j.order = j.order[:0]
	return out
}
