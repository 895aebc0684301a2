package runtime

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// memRuntime is a Runtime that keeps instances in a map: the Router only
// routes, so what a backend does with an instance does not matter here
// (the keeper and systemd backends have their own tests with real
// processes and units).
type memRuntime struct {
	mu   sync.Mutex
	name string
	m    map[string]Status
}

func (r *memRuntime) Start(_ context.Context, inst Instance) (Status, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := Status{ID: inst.ID, State: StateRunning, LogPath: r.name}
	r.m[inst.ID] = st
	return st, nil
}

func (r *memRuntime) get(id string) (Status, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.m[id]
	if !ok {
		return Status{}, ErrNotFound
	}
	return st, nil
}

func (r *memRuntime) Stop(_ context.Context, id string) (Status, error) { return r.get(id) }
func (r *memRuntime) Status(_ context.Context, id string) (Status, error) {
	return r.get(id)
}
func (r *memRuntime) List(context.Context) ([]Status, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Status
	for _, s := range r.m {
		out = append(out, s)
	}
	return out, nil
}
func (r *memRuntime) Remove(_ context.Context, id string) error {
	_, err := r.get(id)
	return err
}

func TestRouter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	emb := &memRuntime{name: "embedded", m: map[string]Status{}}
	sd := &memRuntime{name: "systemd", m: map[string]Status{}}
	r := &Router{Default: "embedded", Backends: map[string]Runtime{"embedded": emb, "systemd": sd}}
	if _, err := r.Start(ctx, Instance{ID: "a.blue"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Start(ctx, Instance{ID: "b.blue", Backend: "systemd"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, id, want string
		wantErr        error
	}{
		{name: "default backend", id: "a.blue", want: "embedded"},
		{name: "named backend", id: "b.blue", want: "systemd"},
		{name: "unknown", id: "c.blue", wantErr: ErrNotFound},
	}
	fresh := &Router{Default: "embedded", Backends: r.Backends} // a restarted daemon remembers nothing
	for _, tc := range tests {
		for _, rr := range []*Router{r, fresh} {
			st, err := rr.Status(ctx, tc.id)
			if !errors.Is(err, tc.wantErr) || (err == nil && st.LogPath != tc.want) {
				t.Errorf("%s: Status(%s) = %q, %v; want %q, %v", tc.name, tc.id, st.LogPath, err, tc.want, tc.wantErr)
			}
		}
	}
	if _, err := r.Start(ctx, Instance{ID: "x", Backend: "docker"}); !errors.Is(err, ErrNoBackend) {
		t.Fatalf("start on a missing backend: %v", err)
	}
	if all, err := r.List(ctx); err != nil || len(all) != 2 {
		t.Fatalf("List = %d, %v", len(all), err)
	}
}
