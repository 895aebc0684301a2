package state

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
)

// addEvents adds one event per app name, in order.
func addEvents(t *testing.T, s *Store, apps ...string) {
	t.Helper()
	for _, app := range apps {
		if _, err := s.AddEvent(Event{App: app, Kind: "test"}); err != nil {
			t.Fatal(err)
		}
	}
}

// seqs renders events as "app:seq" for compact comparisons.
func seqs(es []Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.App+":"+strconv.FormatUint(e.Seq, 10))
	}
	return out
}

func TestAddEventRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	at := t0.Add(-time.Minute)
	in := []Event{
		{App: "web", Kind: "deploy.step", Message: "switch done", Fields: map[string]string{"step": "switch", "took": "80µs"}, Time: at},
		{Kind: "daemon.start", Message: "berth 0.1 up"},
	}
	var got []Event
	for _, e := range in {
		out, err := s.AddEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out)
	}
	want := []Event{in[0], in[1]}
	want[0].Seq = 1
	want[1].Seq, want[1].Time = 2, t0 // zero Time takes the store's clock
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AddEvent (-want +got):\n%s", diff)
	}
	read, err := s.Events("", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, read); diff != "" {
		t.Errorf("Events (-want +got):\n%s", diff)
	}
}

func TestEventsQuery(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	addEvents(t, s, "a", "b", "", "a", "b", "a")
	tests := []struct {
		name  string
		app   string
		after uint64
		limit int
		want  []string
	}{
		{name: "all", want: []string{"a:1", "b:2", ":3", "a:4", "b:5", "a:6"}},
		{name: "one app", app: "a", want: []string{"a:1", "a:4", "a:6"}},
		{name: "after", after: 3, want: []string{"a:4", "b:5", "a:6"}},
		{name: "app after", app: "b", after: 2, want: []string{"b:5"}},
		{name: "limit", limit: 2, want: []string{"a:1", "b:2"}},
		{name: "app limit after", app: "a", after: 1, limit: 1, want: []string{"a:4"}},
		{name: "caught up", after: 6, want: nil},
		{name: "after max", after: math.MaxUint64, want: nil},
		{name: "unknown app", app: "nope", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := s.Events(tt.app, tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, seqs(got)); diff != "" {
				t.Errorf("Events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTailEvents(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	addEvents(t, s, "a", "b", "", "a", "b", "a")
	tests := []struct {
		name string
		app  string
		n    int
		want []string
	}{
		{name: "newest of all", n: 2, want: []string{"b:5", "a:6"}},
		{name: "newest of app", app: "b", n: 1, want: []string{"b:5"}},
		{name: "all of app", app: "a", want: []string{"a:1", "a:4", "a:6"}},
		{name: "more than kept", app: "b", n: 9, want: []string{"b:2", "b:5"}},
		{name: "unknown app", app: "nope", n: 3, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := s.TailEvents(tt.app, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, seqs(got)); diff != "" {
				t.Errorf("TailEvents (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventRetention(t *testing.T) {
	t.Parallel()
	s, path := openTest(t, WithMaxEvents(4))
	addEvents(t, s, "a", "b", "a", "", "b", "a", "b")

	tests := []struct {
		name string
		app  string
		want []string
	}{
		{name: "all", want: []string{":4", "b:5", "a:6", "b:7"}},
		{name: "app a", app: "a", want: []string{"a:6"}},
		{name: "app b", app: "b", want: []string{"b:5", "b:7"}},
	}
	for _, tt := range tests {
		got, err := s.Events(tt.app, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, seqs(got)); diff != "" {
			t.Errorf("%s: Events (-want +got):\n%s", tt.name, diff)
		}
	}

	// The per-app index must shrink with the journal, or it grows forever.
	var indexed []uint64
	s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEventIndex).ForEachBucket(func(app []byte) error {
			return tx.Bucket(bucketEventIndex).Bucket(app).ForEach(func(k, _ []byte) error {
				indexed = append(indexed, keyU64(k))
				return nil
			})
		})
	})
	if diff := cmp.Diff([]uint64{6, 5, 7}, indexed); diff != "" {
		t.Errorf("index entries (-want +got):\n%s", diff)
	}

	// Seq keeps counting across reopen, and a lower limit prunes at once.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path, WithMaxEvents(2))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	addEvents(t, s2, "a")
	got, err := s2.Events("", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"b:7", "a:8"}, seqs(got)); diff != "" {
		t.Errorf("after reopen (-want +got):\n%s", diff)
	}
}

func TestEventRetentionDefault(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	// Planting the journal directly: ten thousand fsynced transactions would
	// make the test slow without testing anything more.
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		for i := 1; i <= DefaultMaxEvents; i++ {
			seq, _ := b.NextSequence()
			data, err := encode(Event{Seq: seq, Kind: "test"})
			if err != nil {
				return err
			}
			if err := b.Put(u64key(seq), data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	addEvents(t, s, "", "")
	got, err := s.Events("", 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{":3", ":4", ":5"}, seqs(got)); diff != "" {
		t.Errorf("oldest kept (-want +got):\n%s", diff)
	}
}
