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

// admission is what admit decided for a new request.
type admission int

const (
	admitted    admission = iota
	refused               // PauseRefuse
	heldTooLong           // PauseHold, and the hold ended without Resume
)

// admit decides whether a new request may proceed, waiting while the
// proxy holds.
func (p *Proxy) admit(ctx context.Context) admission {
	st := p.pause.cur.Load()
	if st == nil {
		return admitted
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for st != nil {
		if st.mode == PauseRefuse {
			return refused
		}
		if timer == nil {
			timer = time.NewTimer(p.cfg.HoldTimeout)
		}
		select {
		case <-st.done:
		case <-timer.C:
			return heldTooLong
		case <-ctx.Done():
			return heldTooLong
		case <-p.closed:
			return heldTooLong
		}
		st = p.pause.cur.Load()
	}
	return admitted
}
