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
	if err := checkStream(stream); err != nil {
		return err
	}
	br := bufio.NewReaderSize(r, w.opt.MaxLine)
	open := false // the last piece written was not the end of its line
	var scratch []byte
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
		if werr := w.write(stream, time.Now(), chunk, more); werr != nil && !errors.Is(werr, ErrDropped) {
			return werr
		}
		open = more
		if tap != nil {
			tap(chunk)
		}
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
