package metrics

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/internal/runtime"
)

func TestScrapeInstancesAndDisks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  Sources
		want samples
	}{
		{
			name: "instances by app and color",
			src: Sources{Instances: instanceList{sts: []runtime.Status{
				{ID: "web.blue", App: "web", State: runtime.StateRunning, PID: 4242, Restarts: 2, LogLines: 1500, LogBytes: 96000, LogDropped: 3},
				{ID: "web.green", App: "web", State: runtime.StateCrashloop, Restarts: 6, LogLines: 20},
				{ID: "api.blue.2", State: runtime.StateStopped}, // instance 2, App unset
			}}},
			want: samples{
				`berth_instance_up{app="web",color="blue"}`:               1,
				`berth_instance_up{app="web",color="green"}`:              0,
				`berth_instance_up{app="api",color="blue.2"}`:             0,
				`berth_instance_restarts_total{app="web",color="blue"}`:   2,
				`berth_instance_restarts_total{app="web",color="green"}`:  6,
				`berth_instance_restarts_total{app="api",color="blue.2"}`: 0,
				`berth_log_lines_total{app="web",color="blue"}`:           1500,
				`berth_log_lines_total{app="web",color="green"}`:          20,
				`berth_log_lines_total{app="api",color="blue.2"}`:         0,
				`berth_log_bytes_total{app="web",color="blue"}`:           96000,
				`berth_log_bytes_total{app="web",color="green"}`:          0,
				`berth_log_bytes_total{app="api",color="blue.2"}`:         0,
				`berth_log_dropped_lines_total{app="web",color="blue"}`:   3,
				`berth_log_dropped_lines_total{app="web",color="green"}`:  0,
				`berth_log_dropped_lines_total{app="api",color="blue.2"}`: 0,
				`berth_scrape_source_up{source="instances"}`:              1,
			},
		},
		{
			name: "runtime error leaves instances out",
			src:  Sources{Instances: instanceList{err: errors.New("keeper: connection refused")}},
			want: samples{`berth_scrape_source_up{source="instances"}`: 0},
		},
		{
			name: "disks",
			src: Sources{Disks: diskList{
				{Path: "/var/lib/berth", UsedRatio: 0.81, FreeBytes: 2e9, InodesUsedRatio: 0.1, TimeToFull: 90 * time.Minute},
				{Path: "/srv", UsedRatio: 0.2, FreeBytes: 5e10},
			}},
			want: samples{
				`berth_disk_used_ratio{path="/var/lib/berth"}`:           0.81,
				`berth_disk_used_ratio{path="/srv"}`:                     0.2,
				`berth_disk_free_bytes{path="/var/lib/berth"}`:           2e9,
				`berth_disk_free_bytes{path="/srv"}`:                     5e10,
				`berth_disk_inodes_used_ratio{path="/var/lib/berth"}`:    0.1,
				`berth_disk_inodes_used_ratio{path="/srv"}`:              0,
				`berth_disk_time_to_full_seconds{path="/var/lib/berth"}`: 5400,
				`berth_disk_time_to_full_seconds{path="/srv"}`:           0,
				`berth_scrape_source_up{source="disks"}`:                 1,
			},
		},
		{
			name: "no sources",
			want: samples{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := scrape(t, serve(t, New(tt.src)))
			got = got.only("berth_instance_").merge(got.only("berth_log_"), got.only("berth_disk_"), got.only("berth_scrape_"))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("series (-want +got):\n%s", diff)
			}
		})
	}
}

// A keeper that never answers costs the scrape its instance series and
// Sources.Timeout, nothing more.
func TestScrapeBoundedByTimeout(t *testing.T) {
	t.Parallel()
	stuck := stuckInstances{release: make(chan struct{})}
	t.Cleanup(func() { close(stuck.release) })
	m := New(Sources{
		Instances: stuck,
		Disks:     diskList{{Path: "/", UsedRatio: 0.5}},
		Timeout:   200 * time.Millisecond,
		Version:   "v1.2.3",
	})
	url := serve(t, m)
	start := time.Now()
	got := scrape(t, url)
	took := time.Since(start)
	if took < 200*time.Millisecond || took > 3*time.Second {
		t.Errorf("scrape took %v, want about the 200ms timeout", took)
	}
	want := samples{
		`berth_scrape_source_up{source="instances"}`: 0,
		`berth_scrape_source_up{source="disks"}`:     1,
		`berth_disk_used_ratio{path="/"}`:            0.5,
		`berth_build_info{version="v1.2.3"}`:         1,
	}
	got = got.only("berth_scrape_").merge(got.only("berth_disk_used"), got.only("berth_build_info"), got.only("berth_instance_"))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
}
