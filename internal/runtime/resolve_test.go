package runtime

import (
	"context"
	"errors"
	"testing"
)

// TestResolve: run.runtime becomes a backend in one place. "auto" is
// systemd only when the daemon has a systemd backend: on a systemd host
// with a non-root daemon (no systemd backend) it is the keeper, where the
// engine and the daemon used to disagree.
func TestResolve(t *testing.T) {
	embedded := &memRuntime{name: BackendEmbedded, m: map[string]Status{}}
	sd := &memRuntime{name: BackendSystemd, m: map[string]Status{}}
	for _, tc := range []struct {
		name     string
		backends map[string]Runtime
		want     map[string]string
	}{
		{"keeper only", map[string]Runtime{BackendEmbedded: embedded},
			map[string]string{"": BackendEmbedded, BackendAuto: BackendEmbedded, BackendEmbedded: BackendEmbedded, BackendDocker: BackendDocker}},
		{"with systemd", map[string]Runtime{BackendEmbedded: embedded, BackendSystemd: sd},
			map[string]string{"": BackendEmbedded, BackendAuto: BackendSystemd, BackendSystemd: BackendSystemd}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Router{Default: BackendEmbedded, Backends: tc.backends}
			for in, want := range tc.want {
				if got := r.Resolve(in); got != want {
					t.Errorf("Resolve(%q) = %q, want %q", in, got, want)
				}
			}
			st, err := r.Start(context.Background(), Instance{ID: "a.blue", Backend: BackendAuto})
			if err != nil || st.LogPath != r.Resolve(BackendAuto) {
				t.Errorf("Start of an auto instance ran on %q (%v), want %q", st.LogPath, err, r.Resolve(BackendAuto))
			}
		})
	}
}

// downRuntime is a backend whose engine does not answer.
type downRuntime struct{ memRuntime }

var errDown = errors.New("engine down")

func (*downRuntime) Status(context.Context, string) (Status, error) { return Status{}, errDown }
func (*downRuntime) Stop(context.Context, string) (Status, error)   { return Status{}, errDown }

// TestFailingBackendHidesNothing: a backend that fails (a container engine
// that is down) does not hide an instance another backend runs; its error
// is returned only when no backend has the instance.
func TestFailingBackendHidesNothing(t *testing.T) {
	embedded := &memRuntime{name: BackendEmbedded, m: map[string]Status{"a.blue": {ID: "a.blue", State: StateRunning}}}
	r := &Router{Default: BackendEmbedded, Backends: map[string]Runtime{BackendEmbedded: embedded, BackendDocker: &downRuntime{}}}
	for range 20 { // map order varies: the down backend is asked first some of the time
		r.where = nil
		if st, err := r.Status(context.Background(), "a.blue"); err != nil || st.ID != "a.blue" {
			t.Fatalf("Status = %+v, %v; want the keeper's instance", st, err)
		}
	}
	if _, err := r.Status(context.Background(), "a.green"); !errors.Is(err, errDown) {
		t.Errorf("Status of an instance no backend has = %v, want the failing backend's error", err)
	}
}
