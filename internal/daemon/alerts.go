package daemon

import (
	"log/slog"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/state"
)

// journalAlerts records alerts in the event journal, each once: a key that
// is already firing at the same severity is not recorded again until it
// resolves. It is safe for concurrent use.
type journalAlerts struct {
	store *state.Store
	log   *slog.Logger

	mu     sync.Mutex
	firing map[string]string // key -> severity
}

func newJournalAlerts(store *state.Store, log *slog.Logger) *journalAlerts {
	return &journalAlerts{store: store, log: log, firing: map[string]string{}}
}

func (j *journalAlerts) Fire(key, severity, app, summary string, details map[string]string) {
	j.mu.Lock()
	if j.firing[key] == severity {
		j.mu.Unlock()
		return
	}
	j.firing[key] = severity
	j.mu.Unlock()
	fields := map[string]string{"key": key, "severity": severity}
	for k, v := range details {
		fields[k] = v
	}
	j.add(state.Event{Time: time.Now(), App: app, Kind: "alert.fired", Message: summary, Fields: fields})
}

func (j *journalAlerts) Resolve(key string) {
	j.mu.Lock()
	_, ok := j.firing[key]
	delete(j.firing, key)
	j.mu.Unlock()
	if ok {
		j.add(state.Event{Time: time.Now(), Kind: "alert.resolved", Message: key, Fields: map[string]string{"key": key}})
	}
}

func (j *journalAlerts) add(e state.Event) {
	if _, err := j.store.AddEvent(e); err != nil {
		j.log.Error("journaling alert", "err", err)
	}
}
