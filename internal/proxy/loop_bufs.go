package proxy

// bufStock keeps a loop's spare buffers, so connections hold one only
// while bytes are in it: a request being read, an answer being read or
// written. Idle keep-alive connections, client or backend, hold none.
// Only the loop's goroutine uses it.
type bufStock struct {
	in, out, up [][]byte
}

// bufStockMax bounds each kind of spare buffer a loop keeps after a burst.
const bufStockMax = 256

func (s *bufStock) getIn() []byte  { return take(&s.in, laneReadBuffer) }
func (s *bufStock) getUp() []byte  { return take(&s.up, upBuffer) }
func (s *bufStock) putIn(b []byte) { keep(&s.in, b, laneReadBuffer) }
func (s *bufStock) putUp(b []byte) { keep(&s.up, b, upBuffer) }

// getOut returns an empty answer buffer, nil when none is spare: append
// then allocates it.
func (s *bufStock) getOut() []byte {
	if n := len(s.out); n > 0 {
		b := s.out[n-1]
		s.out = s.out[:n-1]
		return b
	}
	return nil
}

// putOut keeps an answer buffer unless it grew past laneKeepOut.
func (s *bufStock) putOut(b []byte) {
	if b != nil && cap(b) <= laneKeepOut && len(s.out) < bufStockMax {
		s.out = append(s.out, b[:0])
	}
}

func take(list *[][]byte, size int) []byte {
	if n := len(*list); n > 0 {
		b := (*list)[n-1]
		*list = (*list)[:n-1]
		return b
	}
	return make([]byte, 0, size)
}

func keep(list *[][]byte, b []byte, size int) {
	if cap(b) == size && len(*list) < bufStockMax {
		*list = append(*list, b[:0])
	}
}
