package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// result is one wrk run.
type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int // non-2xx/3xx answers plus socket errors
}

func runWrk(ctx context.Context, url string, conns int, d time.Duration) (result, error) {
	threads := min(conns, 2)
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "wrk", "--latency",
		"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", fmt.Sprintf("%ds", int(d.Seconds())), url).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("running wrk on %s: %w: %s", url, err, out)
	}
	return parseWrk(string(out))
}

func parseWrk(out string) (result, error) {
	var r result
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			r.rps, _ = strconv.ParseFloat(f[1], 64)
		case len(f) == 2 && f[0] == "50%":
			r.p50 = parseDur(f[1])
		case len(f) == 2 && f[0] == "99%":
			r.p99 = parseDur(f[1])
		case strings.HasPrefix(sc.Text(), "  Non-2xx or 3xx responses:"):
			n, _ := strconv.Atoi(f[len(f)-1])
			r.errors += n
		case len(f) > 0 && f[0] == "Socket" && len(f) >= 10:
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for i := 3; i < len(f); i += 2 {
				n, _ := strconv.Atoi(strings.TrimSuffix(f[i], ","))
				r.errors += n
			}
		}
	}
	if r.rps == 0 {
		return r, fmt.Errorf("parsing wrk output: no Requests/sec in %q", out)
	}
	return r, nil
}

// parseDur reads wrk's durations such as 812.00us, 1.20ms, 2.01s.
func parseDur(s string) time.Duration {
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}} {
		if strings.HasSuffix(s, u.suffix) {
			v, err := strconv.ParseFloat(strings.TrimSuffix(s, u.suffix), 64)
			if err != nil {
				return 0
			}
			return time.Duration(v * float64(u.unit))
		}
	}
	return 0
}
