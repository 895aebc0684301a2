// Package secrets keeps the values agents get through [run] secrets: one
// file per secret, <home>/secrets/<app>/<NAME>, mode 0600 in directories of
// mode 0700, owned by the daemon's user (root on a server). Files, not the
// state store, because the keeper and systemd (LoadCredential=) read them
// at each start of an agent without the daemon, and because berth.db is
// what people copy for backups and debugging.
//
// A Store holds no state besides its paths; it is safe for concurrent use
// (each write is a rename, so a reader sees the old value or the new one).
package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/systemd"
)

// MaxSize is the largest value berth stores: environments and credentials
// are not meant for bulk data.
const MaxSize = 64 << 10

// ErrNotFound is returned for a secret that is not set.
var ErrNotFound = errors.New("secret not set")

// ErrInvalid is returned for a name or value berth refuses.
var ErrInvalid = errors.New("invalid secret")

// ErrMissing is returned for a deploy whose spec names secrets not set.
var ErrMissing = errors.New("secrets not set")

// Info describes one secret, never its value.
type Info struct {
	Name      string    `json:"name"`
	Size      int64     `json:"size"`
	ChangedAt time.Time `json:"changed_at"`
}

// Store reads and writes the secrets under one home.
type Store struct{ home home.Layout }

// New returns the store of the home l.
func New(l home.Layout) Store { return Store{home: l} }

// Dir is the directory of app's secrets.
func (s Store) Dir(app string) string { return s.home.SecretsDir(app) }

// Set stores value as app's secret name, replacing any previous value.
func (s Store) Set(app, name string, value []byte) (Info, error) {
	if err := checkKey(app, name); err != nil {
		return Info{}, err
	}
	if err := CheckValue(value); err != nil {
		return Info{}, err
	}
	dir, err := s.mkdir(app)
	if err != nil {
		return Info{}, err
	}
	path := filepath.Join(dir, name)
	if err := systemd.WriteFile(path, value, 0o600, -1, -1); err != nil {
		return Info{}, fmt.Errorf("storing secret %s of %s: %w", name, app, err)
	}
	return stat(path)
}

// CheckValue says why value cannot be a secret, or returns nil.
func CheckValue(value []byte) error {
	switch {
	case len(value) == 0:
		return fmt.Errorf("%w: the value is empty (remove the secret with berth secret rm instead)", ErrInvalid)
	case len(value) > MaxSize:
		return fmt.Errorf("%w: the value has %d bytes, more than the %d a secret may have", ErrInvalid, len(value), MaxSize)
	case bytes.IndexByte(value, 0) >= 0:
		return fmt.Errorf("%w: the value contains a NUL byte, which no environment can hold", ErrInvalid)
	}
	return nil
}

// mkdir creates the secrets directories 0700, fixing the mode of ones that
// exist: a secret must never land in a directory others can read.
func (s Store) mkdir(app string) (string, error) {
	for _, d := range []string{s.home.SecretsRoot(), s.Dir(app)} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("creating %s: %w", d, err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return "", fmt.Errorf("setting mode of %s: %w", d, err)
		}
	}
	return s.Dir(app), nil
}

// List describes app's secrets, sorted by name; none is not an error.
func (s Store) List(app string) ([]Info, error) {
	if err := checkApp(app); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(s.Dir(app))
	if errors.Is(err, fs.ErrNotExist) {
		return []Info{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing secrets of %s: %w", app, err)
	}
	out := []Info{}
	for _, e := range ents {
		if !e.Type().IsRegular() || spec.CheckSecretName(e.Name()) != nil {
			continue // temporary files of a write under way, and berth's own
		}
		in, err := stat(filepath.Join(s.Dir(app), e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes app's secret name; ErrNotFound when it is not set.
func (s Store) Remove(app, name string) error {
	if err := checkKey(app, name); err != nil {
		return err
	}
	err := os.Remove(filepath.Join(s.Dir(app), name))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s of %s", ErrNotFound, name, app)
	}
	if err != nil {
		return fmt.Errorf("removing secret %s of %s: %w", name, app, err)
	}
	return nil
}

// Missing checks that every secret in names is set for app; the error
// wraps ErrMissing and says how to set each one that is not.
func (s Store) Missing(app string, names []string) error {
	var missing []string
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(s.Dir(app), n)); err != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%v: [run] secrets of %s names %d secret(s) not set on this server:", ErrMissing, app, len(missing))
	for _, n := range missing {
		msg += fmt.Sprintf("\n  %s: set it with `berth secret set %s %s < FILE` (or --from-file FILE)", n, app, n)
	}
	return &missingError{msg: msg}
}

type missingError struct{ msg string }

func (e *missingError) Error() string { return e.msg }
func (e *missingError) Unwrap() error { return ErrMissing }

// RemoveAll deletes every secret of app (berth rm --purge).
func (s Store) RemoveAll(app string) error {
	if err := checkApp(app); err != nil {
		return err
	}
	if err := os.RemoveAll(s.Dir(app)); err != nil {
		return fmt.Errorf("removing secrets of %s: %w", app, err)
	}
	return nil
}

func stat(path string) (Info, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Info{}, fmt.Errorf("reading secret: %w", err)
	}
	return Info{Name: filepath.Base(path), Size: fi.Size(), ChangedAt: fi.ModTime().UTC()}, nil
}
