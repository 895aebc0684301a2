package procmem

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Distinct is the physical memory the processes pids occupy together, in
// kB: the resident pages mapped by any of them, each counted once however
// many of them map it (summed RSS counts the berth binary's pages once per
// process). It reads the page frame numbers from /proc/PID/pagemap, which
// the kernel gives only to a process with CAP_SYS_ADMIN; without it, ok is
// false.
func Distinct(pids ...int) (kb int64, ok bool, err error) {
	frames := map[uint64]struct{}{}
	for _, pid := range pids {
		all, err := framesOf(pid)
		if err != nil {
			return 0, false, err
		}
		for _, f := range all {
			if f == 0 {
				return 0, false, nil // frame numbers hidden: not root
			}
			frames[f] = struct{}{}
		}
	}
	return int64(len(frames)) * int64(os.Getpagesize()) / 1024, true, nil
}

// framesOf lists the page frame numbers of pid's resident pages (0 for each
// when the kernel hides them). Huge pages count as their 4 kB parts.
func framesOf(pid int) ([]uint64, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	maps, err := os.Open(dir + "/maps")
	if err != nil {
		return nil, err
	}
	defer maps.Close()
	pm, err := os.Open(dir + "/pagemap")
	if err != nil {
		return nil, err
	}
	defer pm.Close()
	page := uint64(os.Getpagesize())
	var out []uint64
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		lo, hi, ok := mapRange(sc.Text())
		if !ok || strings.HasSuffix(sc.Text(), "[vsyscall]") {
			continue
		}
		buf := make([]byte, (hi-lo)/page*8)
		if _, err := pm.ReadAt(buf, int64(lo/page*8)); err != nil && err != io.EOF {
			return nil, fmt.Errorf("reading %s/pagemap: %w", dir, err)
		}
		for i := 0; i+8 <= len(buf); i += 8 {
			e := binary.LittleEndian.Uint64(buf[i:])
			if e&(1<<63) != 0 { // present (swapped pages are not resident)
				out = append(out, e&(1<<55-1))
			}
		}
	}
	return out, sc.Err()
}

// mapRange parses the address range at the start of a /proc/PID/maps line.
func mapRange(line string) (lo, hi uint64, ok bool) {
	r, _, _ := strings.Cut(line, " ")
	a, b, found := strings.Cut(r, "-")
	if !found {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseUint(a, 16, 64)
	hi, err2 := strconv.ParseUint(b, 16, 64)
	return lo, hi, err1 == nil && err2 == nil && hi > lo
}
