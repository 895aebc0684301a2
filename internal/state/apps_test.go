package state

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAppRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		app  App
	}{
		{name: "minimal", app: App{Name: "web"}},
		{
			name: "full",
			app: App{
				Name:     "agent-7",
				SpecFile: "/srv/agent/berth.toml",
				Spec:     []byte("name = \"agent-7\"\n\x00binary-safe"),
				Live:     Green,
				Colors: map[string]Color{
					Blue:  {Release: "20250301-1", Instance: "agent-7-blue", StartedAt: t0.Add(-time.Hour), Warm: true},
					Green: {Release: "20250301-2", Instance: "agent-7-green", StartedAt: t0},
				},
				Ports:   map[string]int{Blue: 41001, Green: 41002},
				Paused:  PauseRefuse,
				Stopped: true,
			},
		},
		{name: "stamped UpdatedAt is replaced", app: App{Name: "old", UpdatedAt: t0.Add(-24 * time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := openTest(t)
			if err := s.PutApp(tt.app); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetApp(tt.app.Name)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.app
			want.UpdatedAt = t0
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GetApp (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListAppsSortedByName(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	for _, n := range []string{"zeta", "alpha", "mid", "Alpha"} {
		if err := s.PutApp(App{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	apps, err := s.ListApps()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range apps {
		got = append(got, a.Name)
	}
	want := []string{"Alpha", "alpha", "mid", "zeta"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListApps names (-want +got):\n%s", diff)
	}
}

func TestAppErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		do   func(*Store) error
		want error
	}{
		{name: "get missing", do: func(s *Store) error { _, err := s.GetApp("nope"); return err }, want: ErrNotFound},
		{name: "delete missing", do: func(s *Store) error { return s.DeleteApp("nope") }, want: ErrNotFound},
		{name: "put without name", do: func(s *Store) error { return s.PutApp(App{}) }, want: ErrInvalid},
		{name: "update without name", do: func(s *Store) error {
			return s.UpdateApp("", func(*App) error { return nil })
		}, want: ErrInvalid},
		{name: "update renames", do: func(s *Store) error {
			return s.UpdateApp("web", func(a *App) error { a.Name = "other"; return nil })
		}, want: ErrInvalid},
		{name: "get after delete", do: func(s *Store) error {
			if err := s.PutApp(App{Name: "web"}); err != nil {
				return err
			}
			if err := s.DeleteApp("web"); err != nil {
				return err
			}
			_, err := s.GetApp("web")
			return err
		}, want: ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := openTest(t)
			if err := tt.do(s); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestUpdateAppCreatesWhenAbsent(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	var seen App
	err := s.UpdateApp("web", func(a *App) error {
		seen = *a
		a.Live = Blue
		a.Ports = map[string]int{Blue: 41001}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(App{Name: "web"}, seen); diff != "" {
		t.Errorf("fn saw (-want +got):\n%s", diff)
	}
	got, err := s.GetApp("web")
	if err != nil {
		t.Fatal(err)
	}
	want := App{Name: "web", Live: Blue, Ports: map[string]int{Blue: 41001}, UpdatedAt: t0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetApp (-want +got):\n%s", diff)
	}
}

func TestUpdateAppErrorWritesNothing(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	if err := s.PutApp(App{Name: "web", Live: Blue}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	for _, name := range []string{"web", "absent"} {
		err := s.UpdateApp(name, func(a *App) error {
			a.Live = Green
			return boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("UpdateApp(%q): %v, want boom", name, err)
		}
	}
	if got, _ := s.GetApp("web"); got.Live != Blue {
		t.Errorf("failed update changed Live to %q", got.Live)
	}
	if _, err := s.GetApp("absent"); !errors.Is(err, ErrNotFound) {
		t.Errorf("failed update created the app: %v", err)
	}
}

// TestUpdateAppAtomic increments one counter from many goroutines; a
// read-modify-write split over two transactions would lose increments.
func TestUpdateAppAtomic(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				err := s.UpdateApp("web", func(a *App) error {
					if a.Ports == nil {
						a.Ports = map[string]int{}
					}
					a.Ports[Blue]++
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := s.GetApp("web")
	if err != nil {
		t.Fatal(err)
	}
	if got.Ports[Blue] != workers*each {
		t.Errorf("counter = %d, want %d", got.Ports[Blue], workers*each)
	}
}
