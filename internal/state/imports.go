package state

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// keyKeeperSeq is the meta key holding the Seq of the last keeper event
// copied into the journal.
var keyKeeperSeq = []byte("keeper_event_seq")

// KeeperEventSeq returns the Seq of the last keeper event ImportKeeperEvent
// journaled (0 when none), so a restarted daemon asks the keeper only for
// newer ones.
func (s *Store) KeeperEventSeq() (uint64, error) {
	var seq uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if raw := tx.Bucket(bucketMeta).Get(keyKeeperSeq); len(raw) == 8 {
			seq = binary.BigEndian.Uint64(raw)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reading keeper event cursor: %w", err)
	}
	return seq, nil
}

// ImportKeeperEvent journals e, the keeper's event number keeperSeq, and
// moves the cursor in the same transaction; an event at or below the cursor
// was journaled before and is skipped (ok false). Safe for concurrent use.
func (s *Store) ImportKeeperEvent(e Event, keeperSeq uint64) (out Event, ok bool, err error) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if raw := meta.Get(keyKeeperSeq); len(raw) == 8 && binary.BigEndian.Uint64(raw) >= keeperSeq {
			return nil
		}
		if err := s.addEvent(tx, &e); err != nil {
			return err
		}
		ok = true
		return meta.Put(keyKeeperSeq, u64key(keeperSeq))
	})
	if err != nil {
		return Event{}, false, fmt.Errorf("importing keeper event: %w", err)
	}
	return e, ok, nil
}
