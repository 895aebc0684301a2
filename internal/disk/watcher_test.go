package disk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/alert"
	"github.com/berth-dev/berth/internal/config"
)

// recorder is an Alerter that keeps what it was told, as "fire sev key"
// and "resolve key".
type recorder struct {
	mu     sync.Mutex
	events []string
	alerts []alert.Alert
}

func (r *recorder) Fire(a alert.Alert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "fire "+a.Severity+" "+a.Key)
	r.alerts = append(r.alerts, a)
}

func (r *recorder) Resolve(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "resolve "+key)
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// fakeFS is an injected statfs: a filesystem of 100 GB whose used
// percentage the test sets.
type fakeFS struct {
	mu    sync.Mutex
	dev   uint64
	used  float64 // percent
	inode float64 // percent
	calls atomic.Int32
}

func (f *fakeFS) stat(string) (Stat, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	const total = 100e9
	free := uint64(total * (100 - f.used) / 100)
	return Stat{Dev: f.dev, Total: total, Free: free, Avail: free,
		Files: 1000, FilesFree: uint64(1000 * (100 - f.inode) / 100)}, nil
}

func (f *fakeFS) set(used float64) {
	f.mu.Lock()
	f.used = used
	f.mu.Unlock()
}

func diskCfg(path string, mod func(*config.Disk)) config.Disk {
	d := config.DiskDefaults(path)
	if mod != nil {
		mod(&d)
	}
	return d
}

func TestThresholdsWithHysteresis(t *testing.T) {
	t.Parallel()
	const key = "disk:/data:used"
	tests := []struct {
		name string
		used []float64
		want []string
	}{
		{name: "below warn never fires", used: []float64{50, 79, 79.9, 60}, want: nil},
		{name: "three checks over warn fire once", used: []float64{81, 82, 83, 84, 85}, want: []string{"fire warning " + key}},
		{name: "hovering at the line does not flap", used: []float64{81, 79, 81, 79, 81, 79, 81}, want: nil},
		{name: "escalates and resolves once", used: []float64{85, 85, 95, 95, 95, 50, 50, 50, 50},
			want: []string{"fire warning " + key, "fire critical " + key, "resolve " + key}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := &fakeFS{dev: 1}
			rec := &recorder{}
			w := New([]config.Disk{diskCfg("/data", nil)}, Options{Stat: fs.stat, Alerts: rec})
			for _, u := range tt.used {
				fs.set(u)
				w.Check(t.Context())
			}
			if diff := cmp.Diff(tt.want, rec.got()); diff != "" {
				t.Errorf("alerts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadingsAndOtherConditions(t *testing.T) {
	t.Parallel()
	fs := &fakeFS{dev: 7, used: 50, inode: 97}
	rec := &recorder{}
	cfg := diskCfg("/data", func(d *config.Disk) { d.For = 1; d.WarnFree = 60e9; d.CriticalFree = 1e9 })
	w := New([]config.Disk{cfg}, Options{Stat: fs.stat, Alerts: rec})
	rs := w.Check(t.Context())
	if len(rs) != 1 {
		t.Fatalf("readings = %+v", rs)
	}
	r := rs[0]
	if r.UsedPct != 50 || r.Avail != 50e9 || r.InodesPct != 97 || r.Status != LevelCritical || r.Dev != 7 {
		t.Errorf("reading = %+v", r)
	}
	want := []string{"fire warning disk:/data:free", "fire critical disk:/data:inodes"}
	if diff := cmp.Diff(want, rec.got()); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(rs, w.Readings()); diff != "" {
		t.Errorf("Readings differ from Check's result:\n%s", diff)
	}
}

func TestOneFilesystemIsWatchedOnce(t *testing.T) {
	t.Parallel()
	same := &fakeFS{dev: 42, used: 95}
	other := &fakeFS{dev: 43, used: 10}
	stat := func(p string) (Stat, error) {
		if p == "/other" {
			return other.stat(p)
		}
		return same.stat(p)
	}
	rec := &recorder{}
	disks := []config.Disk{
		diskCfg("/var/lib/berth", func(d *config.Disk) { d.For = 1 }),
		diskCfg("/var/lib/berth/logs", func(d *config.Disk) { d.For = 1 }),
		diskCfg("/other", func(d *config.Disk) { d.For = 1 }),
	}
	w := New(disks, Options{Stat: stat, Alerts: rec})
	var paths []string
	for _, r := range w.Check(t.Context()) {
		paths = append(paths, r.Path)
	}
	if diff := cmp.Diff([]string{"/var/lib/berth", "/other"}, paths); diff != "" {
		t.Errorf("watched (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"fire critical disk:/var/lib/berth:used"}, rec.got()); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
}

func TestStatfsTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var calls atomic.Int32
		hung := func(string) (Stat, error) {
			calls.Add(1)
			<-release // a dead NFS mount
			return Stat{}, errors.New("stale file handle")
		}
		rec := &recorder{}
		cfg := diskCfg("/mnt/nfs", func(d *config.Disk) { d.For = 2; d.Timeout = config.Duration{Duration: 5 * time.Second} })
		w := New([]config.Disk{cfg}, Options{Stat: hung, Alerts: rec})
		start := time.Now()
		r := w.Check(t.Context())[0]
		if el := time.Since(start); el != 5*time.Second {
			t.Errorf("Check took %v of fake time, want the 5s timeout", el)
		}
		if !strings.Contains(r.Err, "statfs timed out") || r.Status != LevelCritical {
			t.Errorf("reading = %+v", r)
		}
		w.Check(t.Context())
		if diff := cmp.Diff([]string{"fire critical disk:/mnt/nfs:statfs"}, rec.got()); diff != "" {
			t.Errorf("alerts (-want +got):\n%s", diff)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("statfs started %d times; a hung call must not be repeated", n)
		}
		close(release)
		synctest.Wait()
	})
}

func TestRunChecksOnInterval(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fs := &fakeFS{dev: 1, used: 95}
		rec := &recorder{}
		w := New([]config.Disk{diskCfg("/data", nil)}, Options{Stat: fs.stat, Alerts: rec})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()
		// Checks at 0s, 30s, 60s: for = 3 fires at the third.
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if got := rec.got(); len(got) != 0 {
			t.Errorf("fired before the third check: %v", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if diff := cmp.Diff([]string{"fire critical disk:/data:used"}, rec.got()); diff != "" {
			t.Errorf("alerts (-want +got):\n%s", diff)
		}
		if n := fs.calls.Load(); n != 3 {
			t.Errorf("%d checks in 61s at a 30s interval, want 3", n)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v", err)
		}
	})
}

func TestTimeToFullNamesGrowers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	var dev uint64
	if st, err := Statfs(dir); err == nil {
		dev = st.Dev
	}
	// 110 GB free, growing 1 GB every 10 minutes: at the last check 99 GB
	// are left, full in 16h30m, inside the 24h horizon (warning) but not
	// inside a quarter of it (critical).
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var used uint64 = 90e9
	stat := func(string) (Stat, error) {
		return Stat{Dev: dev, Total: 200e9, Free: 200e9 - used, Avail: 200e9 - used}, nil
	}
	growers := func() []Grower {
		return []Grower{
			{Name: "releases of echo", Path: dir, Bytes: 5e9},
			{Name: "logs of echo", Path: logs, Bytes: 1e9, Growth: 6e9},
		}
	}
	rec := &recorder{}
	cfg := diskCfg("/data", func(d *config.Disk) { d.For = 1; d.Window = config.Duration{Duration: time.Hour} })
	w := New([]config.Disk{cfg}, Options{Stat: stat, Now: func() time.Time { return now }, Alerts: rec, Growers: growers})
	for range 12 {
		w.Check(t.Context())
		now = now.Add(10 * time.Minute)
		used += 1e9
	}
	if diff := cmp.Diff([]string{"fire warning disk:/data:time_to_full"}, rec.got()); diff != "" {
		t.Fatalf("alerts (-want +got):\n%s", diff)
	}
	a := rec.alerts[0]
	if !strings.Contains(a.Summary, "/data will be full in") || !strings.Contains(a.Summary, "6.0GB/h") {
		t.Errorf("summary = %q", a.Summary)
	}
	wantGrowers := map[string]string{
		"grower_1": fmt.Sprintf("logs of echo (%s): 1.0GB, +6.0GB/h", logs),
		"grower_2": fmt.Sprintf("releases of echo (%s): 5.0GB", dir),
	}
	for k, v := range wantGrowers {
		if a.Details[k] != v {
			t.Errorf("details[%s] = %q, want %q", k, a.Details[k], v)
		}
	}
	r := w.Readings()[0]
	if !r.Filling || (r.Rate*600-1e9) > 1 || (r.TimeToFull-(16*time.Hour+30*time.Minute)).Abs() > time.Second {
		t.Errorf("reading = %+v", r)
	}
}

func TestDirSize(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i := range 10 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprint(i)), make([]byte, 1000), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/", filepath.Join(dir, "root")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		limit   int
		want    int64
		wantErr error
	}{
		{name: "whole", limit: 100, want: 10000},
		{name: "truncated", limit: 4, want: 3000, wantErr: ErrTruncated},
	}
	for _, tt := range tests {
		got, err := DirSize(t.Context(), dir, tt.limit)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: DirSize = %d, %v; want %d, %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
	if _, err := DirSize(t.Context(), filepath.Join(dir, "missing"), 10); err == nil {
		t.Error("DirSize of a missing directory succeeded")
	}
}
