package state

import (
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Kinds of deployment.
const (
	KindDeploy   = "deploy"
	KindRollback = "rollback"
)

// Outcomes of a deployment.
const (
	OutcomeRunning     = "running"
	OutcomeSucceeded   = "succeeded"
	OutcomeFailed      = "failed"
	OutcomeRolledBack  = "rolled-back"
	OutcomeInterrupted = "interrupted" // the daemon stopped while it ran
	OutcomeAborted     = "aborted"     // `berth abort` stopped it; the previous version is live
)

// Outcomes of a step.
const (
	StepRunning = "running"
	StepOK      = "ok"
	StepFailed  = "failed"
	StepSkipped = "skipped"
	// StepInterrupted marks a step that was running when the daemon stopped;
	// whether it finished is unknown.
	StepInterrupted = "interrupted"
)

// Deployment is the journal of one deploy or rollback of an app, with its
// steps. It is a plain value; the store hands out copies.
type Deployment struct {
	App string `json:"app"`
	// ID is assigned by BeginDeployment: a per-app sequence in decimal,
	// increasing and never reused, even across restarts.
	ID          string    `json:"id"`
	Kind        string    `json:"kind"` // KindDeploy or KindRollback
	Strategy    string    `json:"strategy,omitempty"`
	Release     string    `json:"release,omitempty"`
	FromRelease string    `json:"from_release,omitempty"`
	User        string    `json:"user,omitempty"` // unix user who ran it
	StartedAt   time.Time `json:"started_at"`
	EndedAt     time.Time `json:"ended_at,omitzero"`
	Outcome     string    `json:"outcome"` // one of the Outcome constants
	Reason      string    `json:"reason,omitempty"`
	Steps       []Step    `json:"steps,omitempty"`
	// Live is the color live when the deployment ended.
	Live       string        `json:"live,omitempty"`
	SwitchTook time.Duration `json:"switch_took,omitempty"`
	// Drained counts requests that finished on the old color during the
	// drain; Cut counts those still open when the drain budget ran out.
	Drained int `json:"drained,omitempty"`
	Cut     int `json:"cut,omitempty"`
	// Numbers holds measurements worth keeping, such as what triggered an
	// automatic rollback: error_rate, p99_ms, baseline_p99_ms, requests.
	Numbers map[string]float64 `json:"numbers,omitempty"`
}

// Step is one step of a deployment's plan.
type Step struct {
	Name      string        `json:"name"`
	StartedAt time.Time     `json:"started_at,omitzero"`
	Took      time.Duration `json:"took,omitempty"`
	Outcome   string        `json:"outcome"` // one of the Step constants
	Detail    string        `json:"detail,omitempty"`
}

// BeginDeployment records a new deployment of d.App and returns it with its
// ID assigned and Outcome set to OutcomeRunning. StartedAt is set to the
// store's clock if zero. Deployments beyond the retention limit (newest 200
// per app by default) are deleted in the same transaction.
func (s *Store) BeginDeployment(d Deployment) (Deployment, error) {
	if d.App == "" {
		return Deployment{}, fmt.Errorf("beginning deployment: empty app name: %w", ErrInvalid)
	}
	d.Outcome = OutcomeRunning
	if d.StartedAt.IsZero() {
		d.StartedAt = s.now()
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketDeployments).CreateBucketIfNotExists([]byte(d.App))
		if err != nil {
			return err
		}
		// The bucket's sequence lives in the file, so IDs keep increasing
		// across restarts and after old deployments are pruned.
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		d.ID = strconv.FormatUint(seq, 10)
		data, err := encode(d)
		if err != nil {
			return err
		}
		if err := b.Put(u64key(seq), data); err != nil {
			return err
		}
		if seq <= uint64(s.maxDeployments) {
			return nil
		}
		for _, k := range keysThrough(b, seq-uint64(s.maxDeployments)) {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Deployment{}, fmt.Errorf("beginning deployment of %q: %w", d.App, err)
	}
	return d, nil
}

// PutDeployment overwrites a deployment begun with BeginDeployment. The
// engine calls it before and after each step, so the journal always shows
// where a deploy stood. A deployment that does not exist (never begun, or
// already pruned) gives an error matching ErrNotFound.
func (s *Store) PutDeployment(d Deployment) error {
	seq, err := parseID(d.ID)
	if err != nil {
		return fmt.Errorf("putting deployment %s/%s: %w", d.App, d.ID, err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDeployments).Bucket([]byte(d.App))
		if b == nil || b.Get(u64key(seq)) == nil {
			return ErrNotFound
		}
		data, err := encode(d)
		if err != nil {
			return err
		}
		return b.Put(u64key(seq), data)
	})
	if err != nil {
		return fmt.Errorf("putting deployment %s/%s: %w", d.App, d.ID, err)
	}
	return nil
}

// GetDeployment returns one deployment, or an error matching ErrNotFound.
func (s *Store) GetDeployment(app, id string) (Deployment, error) {
	seq, err := parseID(id)
	if err != nil {
		return Deployment{}, fmt.Errorf("getting deployment %s/%s: %w", app, id, err)
	}
	var d Deployment
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDeployments).Bucket([]byte(app))
		if b == nil {
			return ErrNotFound
		}
		data := b.Get(u64key(seq))
		if data == nil {
			return ErrNotFound
		}
		return decode(data, &d)
	})
	if err != nil {
		return Deployment{}, fmt.Errorf("getting deployment %s/%s: %w", app, id, err)
	}
	return d, nil
}

// ListDeployments returns up to limit deployments of app, newest first;
// limit <= 0 means all that are kept. An app with no deployments gives an
// empty list, not an error.
func (s *Store) ListDeployments(app string, limit int) ([]Deployment, error) {
	var out []Deployment
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDeployments).Bucket([]byte(app))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			var d Deployment
			if err := decode(v, &d); err != nil {
				return fmt.Errorf("deployment %d: %w", keyU64(k), err)
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing deployments of %q: %w", app, err)
	}
	return out, nil
}

// InterruptRunning is for daemon boot: a deployment still "running" in the
// file was cut short by the previous daemon's exit. It marks each one
// OutcomeInterrupted with reason and EndedAt, marks its running steps
// StepInterrupted, and returns them (by app, then oldest first) so the
// daemon can log them and reconcile what was left half done.
func (s *Store) InterruptRunning(reason string) ([]Deployment, error) {
	var out []Deployment
	err := s.db.Update(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketDeployments)
		return root.ForEachBucket(func(app []byte) error {
			b := root.Bucket(app)
			found, err := runningIn(b)
			if err != nil {
				return fmt.Errorf("app %q: %w", app, err)
			}
			// Written after the scan: bbolt forbids changing a bucket
			// while iterating it.
			for _, d := range found {
				s.interrupt(&d, reason)
				data, err := encode(d)
				if err != nil {
					return err
				}
				seq, _ := parseID(d.ID)
				if err := b.Put(u64key(seq), data); err != nil {
					return err
				}
				out = append(out, d)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("interrupting running deployments: %w", err)
	}
	return out, nil
}

func runningIn(b *bolt.Bucket) ([]Deployment, error) {
	var found []Deployment
	err := b.ForEach(func(k, v []byte) error {
		var d Deployment
		if err := decode(v, &d); err != nil {
			return fmt.Errorf("deployment %d: %w", keyU64(k), err)
		}
		if d.Outcome == OutcomeRunning {
			found = append(found, d)
		}
		return nil
	})
	return found, err
}

func (s *Store) interrupt(d *Deployment, reason string) {
	d.Outcome = OutcomeInterrupted
	d.Reason = reason
	d.EndedAt = s.now()
	// Took stays as journaled: time since the step began would count the
	// daemon's downtime as the step's.
	for i := range d.Steps {
		if d.Steps[i].Outcome == StepRunning {
			d.Steps[i].Outcome = StepInterrupted
		}
	}
}

func parseID(id string) (uint64, error) {
	seq, err := strconv.ParseUint(id, 10, 64)
	if err != nil || seq == 0 {
		return 0, fmt.Errorf("deployment id %q: %w", id, ErrNotFound)
	}
	return seq, nil
}
