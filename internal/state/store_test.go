package state

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// t0 is the fixed clock of most tests; a fixed instant keeps expected
// records exact.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return t0 }

// openTest opens a store in a fresh temp dir and closes it when the test ends.
func openTest(t *testing.T, opts ...Option) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "berth.db")
	s, err := Open(path, append([]Option{WithClock(fixedClock)}, opts...)...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// checkFile runs bbolt's own consistency check over every page.
func checkFile(t *testing.T, s *Store) {
	t.Helper()
	err := s.db.View(func(tx *bolt.Tx) error {
		var first error
		for err := range tx.Check() {
			if first == nil {
				first = err
			}
		}
		return first
	})
	if err != nil {
		t.Errorf("bbolt check: %v", err)
	}
}

func TestOpenSecondTimeIsLocked(t *testing.T) {
	t.Parallel()
	_, path := openTest(t)
	start := time.Now()
	s2, err := Open(path)
	took := time.Since(start)
	if err == nil {
		s2.Close()
		t.Fatal("second Open succeeded while the first holds the file")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "another daemon holds "+path) {
		t.Errorf("error %q does not name the holder of %s", err, path)
	}
	if took < DefaultOpenTimeout/2 || took > 3*DefaultOpenTimeout {
		t.Errorf("second Open gave up after %v, want about %v", took, DefaultOpenTimeout)
	}
}

func TestOpenAfterCloseSucceeds(t *testing.T) {
	t.Parallel()
	s, path := openTest(t)
	if err := s.PutApp(App{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path, WithOpenTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	if _, err := s2.GetApp("web"); err != nil {
		t.Errorf("app lost across reopen: %v", err)
	}
}

func TestOpenShortTimeout(t *testing.T) {
	t.Parallel()
	_, path := openTest(t)
	start := time.Now()
	_, err := Open(path, WithOpenTimeout(100*time.Millisecond))
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Open: %v, want ErrLocked", err)
	}
	if took := time.Since(start); took > 900*time.Millisecond {
		t.Errorf("Open ignored WithOpenTimeout: took %v", took)
	}
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []Option
		want error
	}{
		{name: "zero events kept", opts: []Option{WithMaxEvents(0)}, want: ErrInvalid},
		{name: "negative deployments kept", opts: []Option{WithMaxDeployments(-1)}, want: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "berth.db")
			s, err := Open(path, tt.opts...)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Open: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewerFileSchemaRefused(t *testing.T) {
	t.Parallel()
	s, path := openTest(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, []byte("2"))
	})
	s2, err := Open(path)
	if err == nil {
		s2.Close()
	}
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open of a newer file: %v, want ErrNewerSchema", err)
	}
}

func TestNewerRecordRefused(t *testing.T) {
	t.Parallel()
	s, path := openTest(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketApps).Put([]byte("web"), []byte(`{"v":2,"r":{"name":"web"}}`))
	})
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.GetApp("web"); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("GetApp: %v, want ErrNewerSchema", err)
	}
	if _, err := s2.ListApps(); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("ListApps: %v, want ErrNewerSchema", err)
	}
}

func TestRecordsCarrySchemaVersion(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	if err := s.PutApp(App{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	var raw string
	s.db.View(func(tx *bolt.Tx) error {
		raw = string(tx.Bucket(bucketApps).Get([]byte("web")))
		return nil
	})
	if !strings.HasPrefix(raw, `{"v":1,`) {
		t.Errorf("stored record %s lacks the schema version", raw)
	}
}

// rawUpdate edits a closed store file with bbolt directly, to plant records
// the Store API would never write.
func rawUpdate(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}
