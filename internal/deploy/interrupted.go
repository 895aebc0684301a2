package deploy

import (
	"time"

	"github.com/berth-dev/berth/internal/state"
)

// recordInterrupted completes the record of deployments that a stopped
// daemon cut off, as a finished deployment's would be: which color is live
// now (the store's, which Restore keeps live), and a deploy.finished event,
// so `berth history` and `berth events` both say how each one ended.
func (e *Engine) recordInterrupted(ds []state.Deployment) {
	for _, d := range ds {
		if st, err := e.store.GetApp(d.App); err == nil && st.Live != d.Live {
			d.Live = st.Live
			if err := e.store.PutDeployment(d); err != nil {
				e.log.Error("recording the live color of an interrupted deployment", "app", d.App, "id", d.ID, "err", err)
			}
		}
		ev := state.Event{Time: time.Now(), App: d.App, Kind: "deploy.finished",
			Message: d.Outcome + ": " + d.Reason, Fields: map[string]string{"deployment": d.ID}}
		if _, err := e.store.AddEvent(ev); err != nil {
			e.log.Error("recording event", "app", d.App, "err", err)
		}
	}
}
