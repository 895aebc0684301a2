package deploy

import (
	"log/slog"
	"time"

	"github.com/berth-dev/berth/internal/state"
)

// Progress is one line of a deploy's progress, streamed to whoever asked.
type Progress struct {
	Time    time.Time     `json:"time"`
	Step    string        `json:"step"`
	Outcome string        `json:"outcome"` // running | ok | failed | skipped | info
	Took    time.Duration `json:"took,omitempty"`
	Detail  string        `json:"detail,omitempty"`
}

// ProgressFunc receives progress; it must not block for long.
type ProgressFunc func(Progress)

// journal records a deployment's steps in the store before and after each
// runs, and reports them to the caller as progress.
type journal struct {
	rec   Recorder
	store *state.Store
	log   *slog.Logger
	out   ProgressFunc
	d     state.Deployment
}

func (j *journal) save() {
	if err := j.store.PutDeployment(j.d); err != nil {
		j.log.Error("journaling deployment", "app", j.d.App, "id", j.d.ID, "err", err)
	}
}

// step runs fn as the named step. fn returns a short detail for the record.
func (j *journal) step(name string, fn func() (string, error)) error {
	start := time.Now()
	j.d.Steps = append(j.d.Steps, state.Step{Name: name, StartedAt: start, Outcome: "running"})
	i := len(j.d.Steps) - 1
	j.save()
	j.emit(Progress{Time: start, Step: name, Outcome: "running"})
	detail, err := fn()
	s := &j.d.Steps[i]
	s.Took = time.Since(start)
	s.Detail = detail
	s.Outcome = "ok"
	if err != nil {
		s.Outcome = "failed"
		if detail == "" {
			s.Detail = err.Error()
		}
	}
	j.save()
	j.emit(Progress{Time: time.Now(), Step: name, Outcome: s.Outcome, Took: s.Took, Detail: s.Detail})
	j.event("step", name+": "+s.Outcome, map[string]string{"took": s.Took.Round(time.Millisecond).String(), "detail": s.Detail})
	return err
}

// note reports something that is not a step (a health result, a warning).
func (j *journal) note(step, detail string) {
	j.emit(Progress{Time: time.Now(), Step: step, Outcome: "info", Detail: detail})
}

func (j *journal) emit(p Progress) {
	if j.out != nil {
		j.out(p)
	}
}

func (j *journal) event(kind, msg string, fields map[string]string) {
	if fields == nil {
		fields = map[string]string{}
	}
	fields["deployment"] = j.d.ID
	ev := state.Event{Time: time.Now(), App: j.d.App, Kind: "deploy." + kind, Message: msg, Fields: fields}
	if _, err := j.store.AddEvent(ev); err != nil {
		j.log.Error("recording event", "app", j.d.App, "err", err)
	}
}

// finish records the deployment's outcome.
func (j *journal) finish(outcome, reason string) state.Deployment {
	j.d.Outcome = outcome
	j.d.Reason = reason
	j.d.EndedAt = time.Now()
	j.save()
	j.event("finished", outcome+": "+reason, nil)
	if j.rec != nil {
		j.rec.DeployFinished(j.d.App, j.d.Kind, outcome, j.d.EndedAt.Sub(j.d.StartedAt))
	}
	return j.d
}
