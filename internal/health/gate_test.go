package health

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/spec"
)

// failFirst serves 503 to the first n requests and 200 after.
func failFirst(n int64) http.HandlerFunc {
	var count atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		if count.Add(1) <= n {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
		}
	}
}

// recorder collects results; WaitHealthy calls it from one goroutine, the
// mutex is for the test reading it afterwards.
type recorder struct {
	mu  sync.Mutex
	all []Result
}

func (r *recorder) add(res Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, res)
}

func (r *recorder) results() []Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Result(nil), r.all...)
}

func TestWaitHealthyStartPeriodAndRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		failFirst   int64
		startPeriod time.Duration
		retries     int
		wantErr     error
		wantErrHas  string
	}{
		{name: "failures in start period ignored", failFirst: 5, startPeriod: time.Minute, retries: 1},
		{name: "failures within retries tolerated", failFirst: 2, retries: 3},
		{name: "retries exhausted names the check", failFirst: 1000, retries: 2, wantErr: ErrUnhealthy, wantErrHas: `"api" failed 2 times in a row: GET /health: status 503`},
		{name: "no start period counts at once", failFirst: 5, retries: 1, wantErr: ErrUnhealthy, wantErrHas: `"api"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := serve(t, failFirst(tt.failFirst))
			checks := []spec.Check{{
				Name: "api", Type: "http", Path: "/health",
				Interval: dur(20 * time.Millisecond), Retries: tt.retries, StartPeriod: dur(tt.startPeriod),
			}}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := WaitHealthy(ctx, checks, target, 1, nil, nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErrHas != "" && !strings.Contains(err.Error(), tt.wantErrHas) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantErrHas)
			}
		})
	}
}

func TestWaitHealthyConsecutive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		healthyAfter int
	}{
		{"one pass is enough", 1},
		{"needs three in a row", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Alternate pass and fail for the first 12 requests, then pass.
			var count atomic.Int64
			target := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if n := count.Add(1); n <= 12 && n%2 == 0 {
					http.Error(w, "flaky", http.StatusInternalServerError)
				}
			})
			checks := []spec.Check{{Name: "api", Type: "http", Interval: dur(10 * time.Millisecond), Retries: 100}}
			var rec recorder
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := WaitHealthy(ctx, checks, target, tt.healthyAfter, nil, rec.add); err != nil {
				t.Fatal(err)
			}
			var got []bool
			for _, r := range rec.results() {
				got = append(got, r.OK)
			}
			want := []bool{true}
			if tt.healthyAfter == 3 {
				want = []bool{true, false, true, false, true, false, true, false, true, false, true, false, true, true, true}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("probe results (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWaitHealthyFlappingNeverPasses(t *testing.T) {
	t.Parallel()
	var count atomic.Int64
	target := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if count.Add(1)%2 == 0 {
			http.Error(w, "flaky", http.StatusInternalServerError)
		}
	})
	checks := []spec.Check{{Name: "api", Type: "http", Interval: dur(10 * time.Millisecond), Retries: 100}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := WaitHealthy(ctx, checks, target, 2, nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `"api"`) {
		t.Fatalf("err = %v, want a deadline error naming the check", err)
	}
}

func TestWaitHealthyStartupFirst(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := serve(t, func(http.ResponseWriter, *http.Request) {})
	target.Dir = dir
	checks := []spec.Check{
		{Name: "ready", Type: "http", Interval: dur(10 * time.Millisecond)},
		// Passes on its third run: each run appends to a file first.
		{Name: "boot", Type: "exec", Role: "startup", Interval: dur(10 * time.Millisecond), StartPeriod: dur(time.Minute),
			Command: []string{"/bin/sh", "-c", "echo x >> runs; test $(wc -l < runs) -ge 3"}},
		{Name: "nightly", Type: "exec", Role: "functional", Retries: 1, Command: []string{"/bin/false"}},
	}
	var rec recorder
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := WaitHealthy(ctx, checks, target, 2, nil, rec.add); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rec.results() {
		got = append(got, r.Check)
	}
	want := []string{"boot", "boot", "boot", "ready", "ready"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("probe order (-want +got):\n%s", diff)
	}
}

func TestWaitHealthyNoChecks(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	tests := []struct {
		name    string
		target  Target
		wantErr error
	}{
		{"listening port passes", Target{Port: ln.Addr().(*net.TCPAddr).Port}, nil},
		{"no port passes at once", Target{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rec recorder
			err := WaitHealthy(context.Background(), nil, tt.target, 1, nil, rec.add)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			want := 0
			if tt.target.Port != 0 {
				want = 1
			}
			if got := len(rec.results()); got != want {
				t.Errorf("%d probes, want %d", got, want)
			}
		})
	}
	t.Run("closed port fails", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if err := WaitHealthy(ctx, nil, Target{Port: closedPort(t)}, 1, nil, nil); err == nil {
			t.Fatal("WaitHealthy passed with nothing listening")
		}
	})
}

// TestWaitHealthyAliveAbort gates a real process that dies during its start
// period: WaitHealthy must stop at once instead of waiting out the period.
func TestWaitHealthyAliveAbort(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("/bin/sh", "-c", "sleep 0.3; exit 7")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var exitErr error
	var once sync.Once
	alive := func() error {
		select {
		case err := <-exited:
			once.Do(func() { exitErr = err })
		default:
		}
		return exitErr
	}
	checks := []spec.Check{{Name: "api", Type: "tcp", Interval: dur(20 * time.Millisecond), StartPeriod: dur(time.Hour)}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := WaitHealthy(ctx, checks, Target{Port: closedPort(t)}, 1, alive, nil)
	if !errors.Is(err, ErrInstanceExited) || !strings.Contains(err.Error(), "exit status 7") {
		t.Fatalf("err = %v, want ErrInstanceExited with the exit status", err)
	}
	if ctx.Err() != nil {
		t.Fatal("WaitHealthy waited for the deadline")
	}
}
