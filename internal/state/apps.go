package state

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Colors of the two slots an app can run in.
const (
	Blue  = "blue"
	Green = "green"
)

// Values of App.Paused.
const (
	PauseNone   = ""
	PauseHold   = "hold"   // deploys wait
	PauseRefuse = "refuse" // deploys are refused
)

// App is the deploy engine's record of one app: what is live and what each
// color runs. It is a plain value; the store hands out copies, so an App is
// safe to use from one goroutine without locking.
type App struct {
	Name string `json:"name"`
	// SpecFile is the absolute path of the berth.toml last deployed.
	SpecFile string `json:"spec_file,omitempty"`
	// Spec holds the spec file's bytes as last deployed, so a restart can
	// rebuild the app even if the file has since changed or gone.
	Spec []byte `json:"spec,omitempty"`
	// Live is the color taking traffic: Blue, Green or "" for none.
	Live string `json:"live,omitempty"`
	// Colors says what each color runs, keyed by color.
	Colors map[string]Color `json:"colors,omitempty"`
	// Ports is the port allocated to each color; it stays the same across
	// deploys so firewall rules and health checks keep working.
	Ports map[string]int `json:"ports,omitempty"`
	// Paused is PauseNone, PauseHold or PauseRefuse.
	Paused string `json:"paused,omitempty"`
	// Stopped records that the operator asked for the app to be stopped, so
	// the daemon does not start it again at boot.
	Stopped bool `json:"stopped,omitempty"`
	// UpdatedAt is set by the store on every write.
	UpdatedAt time.Time `json:"updated_at"`
}

// Color is what one color of an app runs.
type Color struct {
	Release   string    `json:"release,omitempty"`
	Instance  string    `json:"instance,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	// Warm means the color is kept running after losing traffic, ready for
	// an instant rollback.
	Warm bool `json:"warm,omitempty"`
	// Instances is how many instances of the release the color runs
	// ([deploy] instances); 0 is 1, as recorded before instances existed.
	// Instance is the first one's id; Ports are keyed by instance slot.
	Instances int `json:"instances,omitempty"`
}

// Count is how many instances the color runs (at least 1).
func (c Color) Count() int { return max(c.Instances, 1) }

// PutApp writes a, replacing any app of the same name. UpdatedAt is set to
// the store's clock.
func (s *Store) PutApp(a App) error {
	if a.Name == "" {
		return fmt.Errorf("putting app: empty name: %w", ErrInvalid)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return s.putApp(tx, a)
	})
	if err != nil {
		return fmt.Errorf("putting app %q: %w", a.Name, err)
	}
	return nil
}

func (s *Store) putApp(tx *bolt.Tx, a App) error {
	a.UpdatedAt = s.now()
	data, err := encode(a)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketApps).Put([]byte(a.Name), data)
}

// GetApp returns the app called name, or an error matching ErrNotFound.
func (s *Store) GetApp(name string) (App, error) {
	var a App
	err := s.db.View(func(tx *bolt.Tx) error {
		data := tx.Bucket(bucketApps).Get([]byte(name))
		if data == nil {
			return ErrNotFound
		}
		return decode(data, &a)
	})
	if err != nil {
		return App{}, fmt.Errorf("getting app %q: %w", name, err)
	}
	return a, nil
}

// ListApps returns every app, sorted by name.
func (s *Store) ListApps() ([]App, error) {
	var apps []App
	err := s.db.View(func(tx *bolt.Tx) error {
		// bbolt keeps keys in byte order, which is the order we promise.
		return tx.Bucket(bucketApps).ForEach(func(k, v []byte) error {
			var a App
			if err := decode(v, &a); err != nil {
				return fmt.Errorf("app %q: %w", k, err)
			}
			apps = append(apps, a)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("listing apps: %w", err)
	}
	return apps, nil
}

// DeleteApp removes the app record, or returns an error matching ErrNotFound.
// The app's deployments and events stay: they are the audit trail, and they
// keep deployment IDs increasing if an app of the same name comes back.
func (s *Store) DeleteApp(name string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketApps)
		if b.Get([]byte(name)) == nil {
			return ErrNotFound
		}
		return b.Delete([]byte(name))
	})
	if err != nil {
		return fmt.Errorf("deleting app %q: %w", name, err)
	}
	return nil
}

// UpdateApp reads the app called name, lets fn change it and writes it back,
// all in one transaction, so no other write to the store lands in between.
// An absent app is created: fn then sees a zero App with Name set. If fn
// returns an error nothing is written and UpdateApp returns that error
// wrapped. fn runs while the store's write lock is held: it must be quick
// and must not call the Store.
func (s *Store) UpdateApp(name string, fn func(*App) error) error {
	if name == "" {
		return fmt.Errorf("updating app: empty name: %w", ErrInvalid)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		a := App{Name: name}
		if data := tx.Bucket(bucketApps).Get([]byte(name)); data != nil {
			if err := decode(data, &a); err != nil {
				return err
			}
		}
		if err := fn(&a); err != nil {
			return err
		}
		if a.Name != name {
			return fmt.Errorf("renaming to %q is not allowed: %w", a.Name, ErrInvalid)
		}
		return s.putApp(tx, a)
	})
	if err != nil {
		return fmt.Errorf("updating app %q: %w", name, err)
	}
	return nil
}
