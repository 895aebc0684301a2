package state

import (
	"fmt"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Event is one entry of the journal: a deploy step, a health transition, a
// restart, a rollback, an alert or an operator action. It is a plain value.
type Event struct {
	// Seq is assigned by AddEvent; it increases by one per event across all
	// apps and is never reused, so it works as a cursor for followers.
	Seq     uint64            `json:"seq"`
	Time    time.Time         `json:"time"`
	App     string            `json:"app,omitempty"` // "" for daemon-wide events
	Kind    string            `json:"kind"`
	Message string            `json:"message,omitempty"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// AddEvent appends e to the journal and returns it with Seq (and Time, if
// zero) set. The oldest events beyond the retention limit (10000 by default)
// are deleted in the same transaction.
func (s *Store) AddEvent(e Event) (Event, error) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	err := s.db.Update(func(tx *bolt.Tx) error { return s.addEvent(tx, &e) })
	if err != nil {
		return Event{}, fmt.Errorf("adding event: %w", err)
	}
	return e, nil
}

// addEvent appends e inside tx and sets its Seq.
func (s *Store) addEvent(tx *bolt.Tx, e *Event) error {
	events := tx.Bucket(bucketEvents)
	seq, err := events.NextSequence()
	if err != nil {
		return err
	}
	e.Seq = seq
	data, err := encode(*e)
	if err != nil {
		return err
	}
	if err := events.Put(u64key(seq), data); err != nil {
		return err
	}
	if e.App != "" {
		idx, err := tx.Bucket(bucketEventIndex).CreateBucketIfNotExists([]byte(e.App))
		if err != nil {
			return err
		}
		if err := idx.Put(u64key(seq), nil); err != nil {
			return err
		}
	}
	if seq <= uint64(s.maxEvents) {
		return nil
	}
	return pruneEvents(tx, seq-uint64(s.maxEvents))
}

// pruneEvents deletes events with Seq <= through, and their index entries.
func pruneEvents(tx *bolt.Tx, through uint64) error {
	events := tx.Bucket(bucketEvents)
	index := tx.Bucket(bucketEventIndex)
	for _, k := range keysThrough(events, through) {
		var e Event
		// An event we cannot decode is still deleted; its index entry, if
		// any, is left dangling and skipped by readers.
		if decode(events.Get(k), &e) == nil && e.App != "" {
			if idx := index.Bucket([]byte(e.App)); idx != nil {
				if err := idx.Delete(k); err != nil {
					return err
				}
			}
		}
		if err := events.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Events returns up to limit events with Seq > afterSeq, oldest first;
// limit <= 0 means all. app "" means every app (and daemon-wide events);
// otherwise only that app's events. A follower passes the Seq of the last
// event it saw.
func (s *Store) Events(app string, afterSeq uint64, limit int) ([]Event, error) {
	var out []Event
	if afterSeq == math.MaxUint64 {
		return out, nil
	}
	full := func() bool { return limit > 0 && len(out) >= limit }
	err := s.db.View(func(tx *bolt.Tx) error {
		events := tx.Bucket(bucketEvents)
		c, ok := eventCursor(tx, app)
		if !ok {
			return nil
		}
		for k, _ := c.Seek(u64key(afterSeq + 1)); k != nil && !full(); k, _ = c.Next() {
			e, ok, err := eventAt(events, k)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading events: %w", err)
	}
	return out, nil
}

// TailEvents returns the newest n events (n <= 0: all), oldest first, for
// app or, with app "", for every app. It is what `berth events` shows before
// following with Events.
func (s *Store) TailEvents(app string, n int) ([]Event, error) {
	var out []Event
	err := s.db.View(func(tx *bolt.Tx) error {
		events := tx.Bucket(bucketEvents)
		c, ok := eventCursor(tx, app)
		if !ok {
			return nil
		}
		for k, _ := c.Last(); k != nil && (n <= 0 || len(out) < n); k, _ = c.Prev() {
			e, ok, err := eventAt(events, k)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading events: %w", err)
	}
	slices.Reverse(out)
	return out, nil
}

// eventCursor walks event keys: all events for app "", else the app's index.
// ok is false when the app has no events.
func eventCursor(tx *bolt.Tx, app string) (c *bolt.Cursor, ok bool) {
	if app == "" {
		return tx.Bucket(bucketEvents).Cursor(), true
	}
	idx := tx.Bucket(bucketEventIndex).Bucket([]byte(app))
	if idx == nil {
		return nil, false
	}
	return idx.Cursor(), true
}

// eventAt decodes the event at key k; ok is false if it is gone.
func eventAt(events *bolt.Bucket, k []byte) (e Event, ok bool, err error) {
	data := events.Get(k)
	if data == nil {
		return Event{}, false, nil
	}
	if err := decode(data, &e); err != nil {
		return Event{}, false, fmt.Errorf("event %d: %w", keyU64(k), err)
	}
	return e, true, nil
}
