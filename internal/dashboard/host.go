package dashboard

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/disk"
)

// hostView is the host page: disks, log space, berth's own memory.
type hostView struct {
	Disks    []diskView
	LogBytes int64
	LogErr   string
	Memory   []memView
}

// diskView is one disk's reading and its last hour of usage.
type diskView struct {
	disk.Reading
	Series []DiskSample
}

// memView is the resident memory of one of berth's processes.
type memView struct {
	Process string
	PID     int
	RSS     int64 // bytes; 0 when unknown
	Heap    int64 // the daemon's Go heap in use; 0 for the others
}

// logSpaceFiles bounds the walk that sums the logs' size.
const logSpaceFiles = 100_000

func (d *Dashboard) hostView(ctx context.Context) hostView {
	var v hostView
	if d.cfg.Disks != nil {
		for _, r := range d.cfg.Disks() {
			v.Disks = append(v.Disks, diskView{Reading: r, Series: d.samples.diskSeries(r.Path)})
		}
	}
	if d.cfg.Home.Root != "" {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		n, err := disk.DirSize(ctx, d.cfg.Home.Root+"/logs", logSpaceFiles)
		v.LogBytes = n
		if err != nil {
			v.LogErr = err.Error()
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	v.Memory = append(v.Memory, memView{Process: "daemon", PID: os.Getpid(), RSS: rss(os.Getpid()), Heap: int64(ms.HeapInuse)})
	names := make([]string, 0, len(d.cfg.PIDFiles))
	for n := range d.cfg.PIDFiles {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		b, err := os.ReadFile(d.cfg.PIDFiles[n])
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			v.Memory = append(v.Memory, memView{Process: n, PID: pid, RSS: rss(pid)})
		}
	}
	return v
}

// rss reads VmRSS of pid from /proc; 0 when it cannot.
func rss(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
