package proxy

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// PauseMode says what a paused proxy does with new requests.
type PauseMode int

const (
	// PauseHold keeps new requests and connections waiting until Resume,
	// at most Config.HoldTimeout; then HTTP answers 503 and TCP closes.
	PauseHold PauseMode = iota + 1
	// PauseRefuse answers new HTTP requests 503 with Retry-After at once
	// and closes new TCP connections.
	PauseRefuse
)

// String names the mode for logs.
func (m PauseMode) String() string {
	switch m {
	case PauseHold:
		return "hold"
	case PauseRefuse:
		return "refuse"
	}
	return "unknown"
}

// Pause stops new requests from reaching any target, as mode says.
// Requests already in flight are unaffected. Pausing again changes the
// mode; requests already held keep waiting for Resume.
func (p *Proxy) Pause(mode PauseMode) {
	p.pause.set(mode)
}

// Resume lets new requests through again and releases held ones.
func (p *Proxy) Resume() {
	p.pause.clear()
}

// pauser is checked on every request with one atomic load; the mutex only
// orders Pause and Resume against each other.
type pauser struct {
	mu  sync.Mutex
	cur atomic.Pointer[pauseState]
}

type pauseState struct {
	mode PauseMode
	done chan struct{} // closed by Resume
}

func (s *pauser) set(mode PauseMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := &pauseState{mode: mode, done: make(chan struct{})}
	if old := s.cur.Load(); old != nil {
		next.done = old.done // held requests keep waiting on the same Resume
	}
	s.cur.Store(next)
}

func (s *pauser) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.cur.Swap(nil); old != nil {
		close(old.done)
	}
}

// admit reports whether a new request may proceed, waiting while the
// proxy holds. It returns false when the request must be refused.
func (p *Proxy) admit(ctx context.Context) bool {
	st := p.pause.cur.Load()
	if st == nil {
		return true
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for st != nil {
		if st.mode == PauseRefuse {
			return false
		}
		if timer == nil {
			timer = time.NewTimer(p.cfg.HoldTimeout)
		}
		select {
		case <-st.done:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		case <-p.closed:
			return false
		}
		st = p.pause.cur.Load()
	}
	return true
}
