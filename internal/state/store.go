// Package state is the daemon's durable memory: apps, deployments and the
// event journal, kept in one bbolt file (<home>/berth.db).
//
// Only the daemon opens the file; bbolt's file lock makes a second daemon fail
// fast with ErrLocked instead of waiting forever. Every write is one bbolt
// transaction, which bbolt fsyncs before it returns, so a crash at any point
// leaves either the old record or the new one, never a torn one.
//
// Records are JSON inside a small envelope that carries a schema version, so a
// later berth can migrate records it finds, and an older berth refuses records
// it cannot understand (ErrNewerSchema) rather than silently dropping fields.
package state

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Errors returned by the store; match them with errors.Is.
var (
	// ErrNotFound means the app or deployment asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrLocked means another process (another daemon) holds the database.
	ErrLocked = errors.New("state database locked")
	// ErrInvalid means the caller passed a record the store cannot keep,
	// such as an app without a name.
	ErrInvalid = errors.New("invalid record")
	// ErrNewerSchema means the file or a record was written by a newer berth.
	ErrNewerSchema = errors.New("written by a newer berth")
)

// schemaVersion is the version of the file layout and of every record this
// code writes. Bump it together with a migration in migrate.
const schemaVersion = 1

// Defaults, overridable with options.
const (
	DefaultOpenTimeout    = time.Second
	DefaultMaxEvents      = 10000
	DefaultMaxDeployments = 200
)

var (
	bucketMeta        = []byte("meta")
	bucketApps        = []byte("apps")
	bucketDeployments = []byte("deployments") // one nested bucket per app
	bucketEvents      = []byte("events")      // seq -> event
	bucketEventIndex  = []byte("event_index") // one nested bucket per app: seq -> nothing
	keySchema         = []byte("schema")
)

// Store is the open state database. It is safe for concurrent use; bbolt
// serialises writers and lets readers run alongside them.
type Store struct {
	db             *bolt.DB
	now            func() time.Time
	maxEvents      int
	maxDeployments int
}

// Option configures Open; options are applied once, when Open runs.
type Option func(*config)

type config struct {
	openTimeout    time.Duration
	now            func() time.Time
	maxEvents      int
	maxDeployments int
}

// WithOpenTimeout sets how long Open waits for another holder of the file to
// let go before it returns ErrLocked.
func WithOpenTimeout(d time.Duration) Option {
	return func(c *config) { c.openTimeout = d }
}

// WithClock sets the clock used for UpdatedAt, EndedAt and event times.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithMaxEvents sets how many events the journal keeps; older ones are
// deleted as new ones arrive.
func WithMaxEvents(n int) Option {
	return func(c *config) { c.maxEvents = n }
}

// WithMaxDeployments sets how many deployments are kept per app.
func WithMaxDeployments(n int) Option {
	return func(c *config) { c.maxDeployments = n }
}

// Open opens (creating if needed) the state database at path. The parent
// directory must exist. If another process holds the file, Open gives up
// after the open timeout with an error matching ErrLocked.
func Open(path string, opts ...Option) (*Store, error) {
	c := config{
		openTimeout:    DefaultOpenTimeout,
		now:            time.Now,
		maxEvents:      DefaultMaxEvents,
		maxDeployments: DefaultMaxDeployments,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.maxEvents < 1 || c.maxDeployments < 1 {
		return nil, fmt.Errorf("opening state %s: retention limits must be at least 1: %w", path, ErrInvalid)
	}
	// A zero timeout would make bbolt wait forever, which is exactly the
	// hang we want to turn into a clear error.
	if c.openTimeout <= 0 {
		c.openTimeout = DefaultOpenTimeout
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: c.openTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("opening state: another daemon holds %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("opening state %s: %w", path, err)
	}
	if err := db.Update(prepare); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening state %s: %w", path, err)
	}
	return &Store{db: db, now: c.now, maxEvents: c.maxEvents, maxDeployments: c.maxDeployments}, nil
}

// prepare creates the top-level buckets and checks the file's schema version.
func prepare(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketMeta, bucketApps, bucketDeployments, bucketEvents, bucketEventIndex} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("creating bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	raw := meta.Get(keySchema)
	if raw == nil {
		return meta.Put(keySchema, []byte(strconv.Itoa(schemaVersion)))
	}
	v, err := strconv.Atoi(string(raw))
	if err != nil {
		return fmt.Errorf("reading schema version %q: %w", raw, err)
	}
	if v > schemaVersion {
		return fmt.Errorf("file schema version %d, this berth knows up to %d: %w", v, schemaVersion, ErrNewerSchema)
	}
	// v < schemaVersion: no migrations exist yet; version 1 is the first.
	return nil
}

// Close releases the database and its file lock.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing state: %w", err)
	}
	return nil
}

// envelope wraps every stored record with its schema version. The record is
// kept raw so a future migration can rewrite it before it is decoded.
type envelope struct {
	V int             `json:"v"`
	R json.RawMessage `json:"r"`
}

func encode(v any) ([]byte, error) {
	r, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding record: %w", err)
	}
	b, err := json.Marshal(envelope{V: schemaVersion, R: r})
	if err != nil {
		return nil, fmt.Errorf("encoding record: %w", err)
	}
	return b, nil
}

func decode(data []byte, out any) error {
	var e envelope
	if err := json.Unmarshal(data, &e); err != nil {
		return fmt.Errorf("decoding record: %w", err)
	}
	if e.V > schemaVersion {
		return fmt.Errorf("decoding record version %d: %w", e.V, ErrNewerSchema)
	}
	if e.V < 1 {
		return fmt.Errorf("decoding record: missing schema version")
	}
	if err := json.Unmarshal(e.R, out); err != nil {
		return fmt.Errorf("decoding record: %w", err)
	}
	return nil
}

// u64key encodes a sequence number big-endian so bbolt's byte order is
// numeric order.
func u64key(n uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, n)
}

func keyU64(k []byte) uint64 {
	if len(k) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k)
}

// keysThrough returns the keys of b up to and including max, in order. It
// collects before deleting because deleting under a live cursor can skip keys.
func keysThrough(b *bolt.Bucket, max uint64) [][]byte {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && keyU64(k) <= max; k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	return keys
}
