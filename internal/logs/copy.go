package logs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// Copy reads r line by line until EOF and writes each line to w, tagged with
// stream and stamped with the time it was read. A line longer than w's
// MaxLine is written in marked pieces as it arrives, so memory stays bounded
// whatever the agent writes. tap, when not nil, sees every line or piece
// (the keeper keeps the last lines of stderr). Dropped lines do not stop
// Copy; with OnFull "block" Copy stops reading until w can write again, which
// makes the agent block on its next write. Copy returns nil at EOF, or the
// read error, or ErrClosed once w is closed. Use one Copy per stream.
func Copy(w *Writer, stream Stream, r io.Reader, tap func(line []byte)) error {
	return CopyRedacted(w, stream, r, nil, tap)
}

// CopyRedacted is Copy with every secret value red knows replaced before a
// line reaches w or tap; red may be nil. Redaction sees whole lines, however
// the agent's writes split them; a line longer than MaxLine is redacted
// across its pieces (the end of each piece that could begin a value waits
// for the next).
func CopyRedacted(w *Writer, stream Stream, r io.Reader, red *Redactor, tap func(line []byte)) error {
	if err := checkStream(stream); err != nil {
		return err
	}
	br := bufio.NewReaderSize(r, w.opt.MaxLine)
	open := false // the last piece written was not the end of its line
	var scratch []byte
	rc := redactCopy{red: red, w: w, stream: stream, tap: tap}
	for {
		chunk, err := br.ReadSlice('\n')
		more := errors.Is(err, bufio.ErrBufferFull)
		switch {
		case err == nil:
			chunk = bytes.TrimSuffix(chunk[:len(chunk)-1], []byte{'\r'})
		case more:
			if chunk[len(chunk)-1] == '\r' {
				// Peek may refill the buffer chunk points into.
				scratch = append(scratch[:0], chunk...)
				chunk = scratch
				if next, _ := br.Peek(1); len(next) == 1 && next[0] == '\n' {
					chunk = chunk[:len(chunk)-1]
				}
			}
		case len(chunk) == 0 && !open:
			return readErr(err)
		default: // the last line, without a newline
			chunk = bytes.TrimSuffix(chunk, []byte{'\r'})
		}
		if red != nil {
			if werr := rc.piece(chunk, more); werr != nil {
				return werr
			}
		} else {
			if werr := w.write(stream, time.Now(), chunk, more); werr != nil && !errors.Is(werr, ErrDropped) {
				return werr
			}
			if tap != nil {
				tap(chunk)
			}
		}
		open = more
		if err != nil && !more {
			return readErr(err)
		}
	}
}

func readErr(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return fmt.Errorf("reading agent output: %w", err)
}

// redactCopy carries what CopyRedacted holds back of a long line's piece.
type redactCopy struct {
	red     *Redactor
	w       *Writer
	stream  Stream
	tap     func([]byte)
	pending []byte // raw bytes of the current line not written yet
	joined  []byte
	buf     RedactBuf
}

// piece redacts and writes one chunk of a line; more says the line goes on.
func (c *redactCopy) piece(chunk []byte, more bool) error {
	data := chunk
	if len(c.pending) > 0 {
		c.joined = append(append(c.joined[:0], c.pending...), chunk...)
		data = c.joined
	}
	cut := len(data)
	if more {
		cut = c.red.safeCut(data, max(0, len(data)-(c.red.maxLen-1)))
	}
	if cut == 0 && more {
		c.pending = append(c.pending[:0], data...)
		return nil
	}
	text := c.red.Redact(data[:cut], &c.buf)
	rest := data[cut:]
	for {
		n := splitPoint(text, c.w.opt.MaxLine)
		last := n == len(text)
		if err := c.emit(text[:n], more || !last); err != nil {
			return err
		}
		if last {
			break
		}
		text = text[n:]
	}
	c.pending = append(c.pending[:0], rest...)
	return nil
}

func (c *redactCopy) emit(text []byte, more bool) error {
	if err := c.w.write(c.stream, time.Now(), text, more); err != nil && !errors.Is(err, ErrDropped) {
		return err
	}
	if c.tap != nil {
		c.tap(text)
	}
	return nil
}
