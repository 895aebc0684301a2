// Package procmem reads what processes cost in memory from /proc, for the
// benchmarks: RSS, PSS and the distinct physical pages of several.
package procmem

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Mem is one process's memory in kB.
type Mem struct{ RSS, PSS int64 }

// Add sums two readings.
func (a Mem) Add(b Mem) Mem { return Mem{a.RSS + b.RSS, a.PSS + b.PSS} }

// Read reads VmRSS from /proc/PID/status and Pss from smaps_rollup.
func Read(pid int) (Mem, error) {
	var m Mem
	p := "/proc/" + strconv.Itoa(pid)
	var err error
	if m.RSS, err = field(p+"/status", "VmRSS:"); err != nil {
		return m, err
	}
	m.PSS, err = field(p+"/smaps_rollup", "Pss:")
	return m, err
}

func field(path, key string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 2 && fs[0] == key {
			return strconv.ParseInt(fs[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in %s", key, path)
}
