package keeper

import (
	"context"
	"sync"
	"time"
)

// Event is one instance transition reported by the keeper.
type Event struct {
	Seq     uint64    `json:"seq"`  // increases across keeper restarts
	Time    time.Time `json:"time"` // when it happened
	ID      string    `json:"id"`   // instance id
	Kind    string    `json:"kind"` // one of the Event* kinds
	Message string    `json:"message"`
	PID     int       `json:"pid,omitempty"`
}

// Event kinds.
const (
	EventStarted   = "started"   // a process started; PID set
	EventExited    = "exited"    // the process exited; Message has code or signal and run time
	EventBackoff   = "backoff"   // a restart is scheduled; Message says when
	EventCrashloop = "crashloop" // restarted repeatedly within seconds; retrying at the max backoff
	EventStopped   = "stopped"   // stopped on request; no process left
	EventRecovered = "recovered" // a new keeper re-adopted or cleaned up a run a dead keeper left
	// EventOutputLost: a new keeper re-adopted a process without its output
	// pipes (nobody held them); the daemon replaces it with the app's strategy.
	EventOutputLost = "output_lost"
	EventRemoved    = "removed" // the instance was forgotten
)

// eventLogSize bounds the events a keeper keeps for long-polling clients.
const eventLogSize = 512

// eventLog is a bounded ring of events with long-poll. It is safe for
// concurrent use.
type eventLog struct {
	mu     sync.Mutex
	seq    uint64
	ring   []Event
	notify chan struct{} // closed and replaced on every append
}

// newEventLog starts numbering after last. Numbers also start no lower than
// the clock in microseconds, so a client that remembers a sequence number
// from a previous keeper (whose state may not have been saved) does not miss
// the new keeper's events.
func newEventLog(last uint64, now time.Time) *eventLog {
	if us := uint64(now.UnixMicro()); us > last {
		last = us
	}
	return &eventLog{seq: last, notify: make(chan struct{})}
}

func (l *eventLog) add(id, kind string, pid int, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	l.ring = append(l.ring, Event{Seq: l.seq, Time: time.Now().UTC(), ID: id, Kind: kind, Message: msg, PID: pid})
	if len(l.ring) > eventLogSize {
		l.ring = append(l.ring[:0:0], l.ring[len(l.ring)-eventLogSize:]...)
	}
	close(l.notify)
	l.notify = make(chan struct{})
}

func (l *eventLog) last() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq
}

// after returns the events after seq, waiting up to wait for one to come.
func (l *eventLog) after(ctx context.Context, seq uint64, wait time.Duration) []Event {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		l.mu.Lock()
		var out []Event
		for _, e := range l.ring {
			if e.Seq > seq {
				out = append(out, e)
			}
		}
		ch := l.notify
		l.mu.Unlock()
		if len(out) > 0 {
			return out
		}
		select {
		case <-ch:
		case <-t.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}
