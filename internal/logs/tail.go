package logs

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
)

// tail sends the last q.Tail selected lines, reading files newest first and
// stopping as soon as it has enough. Plain files are read from the end;
// gzipped ones are read through a bounded ring.
func (rd *reader) tail(rot []rotated, live *os.File) error {
	need := rd.q.Tail
	out, liveJoiner := rd.sink, rd.j
	var parts [][]Line // newest file first
	if live != nil {
		lines, err := rd.lastLines(need, func() error { return rd.tailPlain(live, need) })
		if err != nil {
			return err
		}
		parts, need = append(parts, lines), need-len(lines)
	}
	for i := len(rot) - 1; i >= 0 && need > 0; i-- {
		if !rd.q.Since.IsZero() && rot[i].time.Before(rd.q.Since) {
			break
		}
		rd.j = newJoiner() // a rotated file is read on its own, not after the newer one
		lines, err := rd.lastLines(need, func() error { return rd.tailRotated(rot[i], need) })
		if err != nil {
			return err
		}
		parts, need = append(parts, lines), need-len(lines)
	}
	rd.sink, rd.j = out, liveJoiner
	for _, lines := range slices.Backward(parts) {
		for _, l := range lines {
			if err := out(l); err != nil {
				return err
			}
		}
	}
	return nil
}

// lastLines runs read with the sink replaced by a ring of n lines.
func (rd *reader) lastLines(n int, read func() error) ([]Line, error) {
	r := &ring{buf: make([]Line, 0, n), n: n}
	rd.sink = r.add
	err := read()
	return r.lines(), err
}

func (rd *reader) tailRotated(r rotated, need int) error {
	src, err := openRotated(r)
	if err != nil || src == nil {
		return err
	}
	defer src.Close()
	if f, ok := src.(*os.File); ok {
		err = rd.tailPlain(f, need)
	} else {
		err = rd.scan(src)
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", r.base, err)
	}
	return rd.finish()
}

// tailPlain reads f from a point near its end that leaves at least need
// selected lines after it.
func (rd *reader) tailPlain(f *os.File, need int) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("checking log: %w", err)
	}
	start, err := tailStart(f, fi.Size(), need, rd.counts)
	if err != nil {
		return err
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return fmt.Errorf("seeking in log: %w", err)
	}
	return rd.scan(f)
}

// counts reports whether a record ends a line Read would return.
func (rd *reader) counts(b []byte) bool {
	r := parseRecord(b)
	return !r.more && (rd.q.Streams == nil || slices.Contains(rd.q.Streams, r.stream))
}

// tailMargin is read before the computed start so that the earlier pieces
// of a split line interleaved with the other stream are found too; the
// extra lines fall out of the ring.
const tailMargin = 64 << 10

// tailStart walks f backwards from size, a block at a time, and returns the
// start of a record that has at least need counted records after it (plus
// tailMargin), or 0.
func tailStart(f *os.File, size int64, need int, counts func([]byte) bool) (int64, error) {
	const block = 64 << 10
	pos, count, found := size, 0, int64(-1)
	var carry []byte // the start of a record that began in an earlier block
	trimmed := false // the bytes after the last newline (a record being written) are skipped
	for pos > 0 {
		n := min(block, pos)
		pos -= n
		buf := make([]byte, n, int(n)+len(carry))
		if _, err := f.ReadAt(buf, pos); err != nil {
			return 0, fmt.Errorf("reading log backwards: %w", err)
		}
		buf = append(buf, carry...)
		if !trimmed {
			k := bytes.LastIndexByte(buf, '\n')
			if k < 0 {
				carry = nil
				continue
			}
			buf, trimmed = buf[:k+1], true
		}
		hi := len(buf)
		for hi > 0 {
			lo := bytes.LastIndexByte(buf[:hi-1], '\n') + 1
			if lo == 0 && pos > 0 {
				break // this record began in the previous block
			}
			if counts(buf[lo : hi-1]) {
				count++
			}
			at := pos + int64(lo)
			if count >= need && found < 0 {
				found = at
			}
			if found >= 0 && found-at >= tailMargin {
				return at, nil
			}
			hi = lo
		}
		carry = buf[:hi]
	}
	return 0, nil
}

// ring keeps the last n lines it is given.
type ring struct {
	buf  []Line
	n    int
	next int
}

func (r *ring) add(l Line) error {
	if len(r.buf) < r.n {
		r.buf = append(r.buf, l)
		return nil
	}
	r.buf[r.next] = l
	r.next = (r.next + 1) % r.n
	return nil
}

func (r *ring) lines() []Line {
	return append(r.buf[r.next:len(r.buf):len(r.buf)], r.buf[:r.next]...)
}
