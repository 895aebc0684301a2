package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// maxInitBytes bounds what one berth package may allocate at package init:
// the daemon, the keeper and the front all run this binary, so init work
// costs three times, and it stays live (compiled regexps, tables). A small
// regexp costs 3-5 kB; internal/spec's seven come to 26 kB.
const maxInitBytes = 32 << 10

// TestInitAllocations runs this test binary, which links every package
// berth's does, with GODEBUG=inittrace=1 and reads what each package's
// init allocated. A berth package over maxInitBytes fails; the total is
// logged.
func TestInitAllocations(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("running %s: %v\n%s", os.Args[0], err, stderr.Bytes())
	}
	var total, inits int64
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		// init PKG @0.5 ms, 0.1 ms clock, 4096 bytes, 12 allocs
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != "init" || f[8] != "bytes," {
			continue
		}
		n, err := strconv.ParseInt(f[7], 10, 64)
		if err != nil {
			t.Fatalf("reading %q: %v", sc.Text(), err)
		}
		total += n
		inits++
		if strings.HasPrefix(f[1], "github.com/berth-dev/berth/") && n > maxInitBytes {
			t.Errorf("package %s allocates %d bytes at init, more than %d: make it lazy or smaller (a regexp with x{0,N} compiles N copies of x)", f[1], n, maxInitBytes)
		}
	}
	if inits == 0 {
		t.Fatalf("no init lines in the trace:\n%s", stderr.Bytes())
	}
	t.Logf("%d package inits allocate %d bytes in all", inits, total)
}
