package state

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func begin(t *testing.T, s *Store, app string) Deployment {
	t.Helper()
	d, err := s.BeginDeployment(Deployment{App: app, Kind: KindDeploy})
	if err != nil {
		t.Fatalf("BeginDeployment(%q): %v", app, err)
	}
	return d
}

func ids(ds []Deployment) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.App+"/"+d.ID)
	}
	return out
}

func TestDeploymentIDsIncreasePerApp(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	var got []string
	for _, app := range []string{"a", "a", "b", "a", "b"} {
		got = append(got, app+"/"+begin(t, s, app).ID)
	}
	want := []string{"a/1", "a/2", "b/1", "a/3", "b/2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IDs (-want +got):\n%s", diff)
	}
}

func TestDeploymentIDsSurviveReopen(t *testing.T) {
	t.Parallel()
	s, path := openTest(t, WithMaxDeployments(2))
	for range 3 {
		begin(t, s, "web")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path, WithClock(fixedClock), WithMaxDeployments(2))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	// Pruning must not rewind the sequence either: ID 1 is gone, 4 is next.
	if got := begin(t, s2, "web").ID; got != "4" {
		t.Errorf("ID after reopen = %s, want 4", got)
	}
	if err := s2.DeleteApp("web"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DeleteApp: %v", err)
	}
	if got := begin(t, s2, "web").ID; got != "5" {
		t.Errorf("ID after DeleteApp = %s, want 5", got)
	}
}

func TestDeploymentRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	d, err := s.BeginDeployment(Deployment{
		App: "web", Kind: KindDeploy, Strategy: "bluegreen", Release: "r2", FromRelease: "r1",
		User: "deploy", Outcome: OutcomeSucceeded, // ignored: a new deployment is running
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Deployment{
		App: "web", ID: "1", Kind: KindDeploy, Strategy: "bluegreen", Release: "r2",
		FromRelease: "r1", User: "deploy", StartedAt: t0, Outcome: OutcomeRunning,
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("BeginDeployment (-want +got):\n%s", diff)
	}

	d.Steps = []Step{
		{Name: "install", StartedAt: t0, Took: 1500 * time.Millisecond, Outcome: StepOK, Detail: "releases/r2"},
		{Name: "start-green", StartedAt: t0.Add(2 * time.Second), Outcome: StepFailed, Detail: "exit 1"},
		{Name: "switch", Outcome: StepSkipped},
	}
	d.Outcome = OutcomeRolledBack
	d.Reason = "error rate 12% over 1%"
	d.EndedAt = t0.Add(time.Minute)
	d.Live = Blue
	d.SwitchTook = 80 * time.Microsecond
	d.Drained, d.Cut = 41, 2
	d.Numbers = map[string]float64{"error_rate": 0.12, "p99_ms": 830, "baseline_p99_ms": 95.5, "requests": 1200}
	if err := s.PutDeployment(d); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetDeployment("web", "1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, got); diff != "" {
		t.Errorf("GetDeployment (-want +got):\n%s", diff)
	}
}

func TestDeploymentNotFound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		do   func(*Store) error
		want error
	}{
		{name: "get unknown app", do: func(s *Store) error { _, err := s.GetDeployment("nope", "1"); return err }, want: ErrNotFound},
		{name: "get unknown id", do: func(s *Store) error { _, err := s.GetDeployment("web", "9"); return err }, want: ErrNotFound},
		{name: "get malformed id", do: func(s *Store) error { _, err := s.GetDeployment("web", "x1"); return err }, want: ErrNotFound},
		{name: "get id zero", do: func(s *Store) error { _, err := s.GetDeployment("web", "0"); return err }, want: ErrNotFound},
		{name: "put never begun", do: func(s *Store) error { return s.PutDeployment(Deployment{App: "web", ID: "9"}) }, want: ErrNotFound},
		{name: "put other app", do: func(s *Store) error { return s.PutDeployment(Deployment{App: "api", ID: "1"}) }, want: ErrNotFound},
		{name: "put without id", do: func(s *Store) error { return s.PutDeployment(Deployment{App: "web"}) }, want: ErrNotFound},
		{name: "begin without app", do: func(s *Store) error { _, err := s.BeginDeployment(Deployment{}); return err }, want: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := openTest(t)
			begin(t, s, "web")
			if err := tt.do(s); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestListDeploymentsNewestFirst(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	for range 4 {
		begin(t, s, "web")
	}
	begin(t, s, "api")
	tests := []struct {
		name  string
		app   string
		limit int
		want  []string
	}{
		{name: "all", app: "web", limit: 0, want: []string{"web/4", "web/3", "web/2", "web/1"}},
		{name: "limited", app: "web", limit: 2, want: []string{"web/4", "web/3"}},
		{name: "limit above count", app: "api", limit: 10, want: []string{"api/1"}},
		{name: "unknown app", app: "nope", limit: 10, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := s.ListDeployments(tt.app, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
				t.Errorf("ListDeployments (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeploymentRetention(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  []Option
		begun int
		kept  int
	}{
		{name: "option", opts: []Option{WithMaxDeployments(5)}, begun: 12, kept: 5},
		{name: "default", begun: DefaultMaxDeployments + 3, kept: DefaultMaxDeployments},
		{name: "under the limit", opts: []Option{WithMaxDeployments(5)}, begun: 4, kept: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := openTest(t, tt.opts...)
			for range tt.begun {
				begin(t, s, "web")
			}
			begin(t, s, "other") // another app's history is not pruned by web's
			got, err := s.ListDeployments("web", 0)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for id := tt.begun; id > tt.begun-tt.kept; id-- {
				want = append(want, "web/"+strconv.Itoa(id))
			}
			if diff := cmp.Diff(want, ids(got)); diff != "" {
				t.Errorf("kept (-want +got):\n%s", diff)
			}
			if _, err := s.GetDeployment("other", "1"); err != nil {
				t.Errorf("other app's deployment: %v", err)
			}
		})
	}
}

func TestInterruptRunning(t *testing.T) {
	t.Parallel()
	later := t0.Add(time.Hour)
	s, _ := openTest(t, WithClock(func() time.Time { return later }))

	done := begin(t, s, "web")
	done.Outcome = OutcomeSucceeded
	if err := s.PutDeployment(done); err != nil {
		t.Fatal(err)
	}
	mid := begin(t, s, "web")
	mid.Steps = []Step{
		{Name: "install", StartedAt: t0, Took: time.Second, Outcome: StepOK},
		{Name: "start-green", StartedAt: t0.Add(time.Second), Outcome: StepRunning},
	}
	if err := s.PutDeployment(mid); err != nil {
		t.Fatal(err)
	}
	fresh := begin(t, s, "api")

	got, err := s.InterruptRunning("daemon restarted")
	if err != nil {
		t.Fatal(err)
	}
	wantMid := mid
	wantMid.Outcome, wantMid.Reason, wantMid.EndedAt = OutcomeInterrupted, "daemon restarted", later
	wantMid.Steps = []Step{mid.Steps[0], {Name: "start-green", StartedAt: t0.Add(time.Second), Outcome: StepInterrupted}}
	wantFresh := fresh
	wantFresh.Outcome, wantFresh.Reason, wantFresh.EndedAt = OutcomeInterrupted, "daemon restarted", later
	want := []Deployment{wantFresh, wantMid}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("InterruptRunning (-want +got):\n%s", diff)
	}

	stored, err := s.GetDeployment("web", mid.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantMid, stored); diff != "" {
		t.Errorf("stored after interrupt (-want +got):\n%s", diff)
	}
	if d, _ := s.GetDeployment("web", done.ID); d.Outcome != OutcomeSucceeded {
		t.Errorf("finished deployment became %q", d.Outcome)
	}

	again, err := s.InterruptRunning("second boot")
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Errorf("second InterruptRunning returned %v, want none", ids(again))
	}
}
