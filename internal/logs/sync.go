package logs

import (
	"fmt"
	"time"
)

// Flush writes the buffered lines to the file now (one write(2)), so they
// survive the death of this process: the keeper consumes an agent's pipe
// only up to what Flush has written. It returns the write error, the lines
// staying buffered for the next try as with the timed flush.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if err := w.flush(time.Now()); err != nil {
		return fmt.Errorf("flushing log: %w", err)
	}
	return nil
}
