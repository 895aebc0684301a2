package logs

import (
	"bufio"
	"errors"
	"io"
	"time"
)

// Copy reads r line by line until EOF and writes each line to w, tagged with
// stream. Lines longer than w's MaxLine are split. tap, when not nil, sees
// every line (the keeper keeps the last lines of stderr with it).
func Copy(w *Writer, stream Stream, r io.Reader, tap func(line []byte)) error {
	max := w.opt.MaxLine
	if max <= 0 {
		max = 16 << 10
	}
	br := bufio.NewReaderSize(r, max)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if line[len(line)-1] == '\n' {
				line = line[:len(line)-1]
			}
			if werr := w.WriteLine(stream, time.Now(), line); werr != nil {
				return werr
			}
			if tap != nil {
				tap(line)
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}
