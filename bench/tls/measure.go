package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// measure is one round against one server.
type measure struct {
	keepRPS    float64       // TLS HTTP/1.1 keep-alive requests/s
	keepP99    time.Duration // its p99
	handshakes float64       // requests/s with a new connection (and TLS handshake) each
	h2RPS      float64       // HTTP/2 requests/s, many streams per connection
	errors     int
}

func measureAll(ctx context.Context, addr string, conns int, d time.Duration) (measure, error) {
	var m measure
	ka, err := keepAlive(ctx, addr, conns, d)
	if err != nil {
		return m, err
	}
	m.keepRPS, m.keepP99, m.errors = ka.rps, ka.p99, ka.errors
	hs, err := wrk(ctx, addr, 16, d, "Connection: close")
	if err != nil {
		return m, err
	}
	m.handshakes, m.errors = hs.rps, m.errors+hs.errors
	m.h2RPS, err = h2load(ctx, addr, d)
	return m, err
}

type wrkResult struct {
	rps    float64
	p99    time.Duration
	errors int
}

func keepAlive(ctx context.Context, addr string, conns int, d time.Duration) (wrkResult, error) {
	return wrk(ctx, addr, conns, d, "")
}

// wrk runs wrk on https://localhost:port/ (SNI localhost) with an
// optional extra header.
func wrk(ctx context.Context, addr string, conns int, d time.Duration, header string) (wrkResult, error) {
	_, port, _ := strings.Cut(addr, ":")
	args := []string{"--latency", "-t", "2", "-c", strconv.Itoa(conns), "-d", fmt.Sprintf("%ds", int(d.Seconds()))}
	if header != "" {
		args = append(args, "-H", header)
	}
	args = append(args, "https://localhost:"+port+"/")
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("running wrk: %w: %s", err, out)
	}
	var r wrkResult
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			r.rps, _ = strconv.ParseFloat(f[1], 64)
		case len(f) == 2 && f[0] == "99%":
			r.p99 = wrkDur(f[1])
		case strings.HasPrefix(sc.Text(), "  Non-2xx or 3xx responses:"):
			n, _ := strconv.Atoi(f[len(f)-1])
			r.errors += n
		case len(f) > 0 && f[0] == "Socket":
			for i := 3; i < len(f); i += 2 {
				n, _ := strconv.Atoi(strings.TrimSuffix(f[i], ","))
				r.errors += n
			}
		}
	}
	if r.rps == 0 {
		return r, fmt.Errorf("no Requests/sec in wrk's output: %s", out)
	}
	return r, nil
}

func wrkDur(s string) time.Duration {
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return time.Duration(f * float64(u.unit))
		}
	}
	return 0
}

// h2load runs 4 HTTP/2 connections of 32 concurrent streams each.
func h2load(ctx context.Context, addr string, d time.Duration) (float64, error) {
	_, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "h2load", "-c", "4", "-m", "32", "-t", "2", "-D", strconv.Itoa(int(d.Seconds())),
		"https://localhost:"+port+"/").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("running h2load: %w: %s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		// finished in 5.00s, 12345.60 req/s, 1.23MB/s
		if rest, ok := strings.CutPrefix(line, "finished in "); ok {
			f := strings.Fields(rest)
			if len(f) >= 3 {
				v, err := strconv.ParseFloat(f[1], 64)
				if err == nil {
					if !strings.Contains(string(out), "succeeded") || strings.Contains(string(out), " 0 succeeded") {
						return 0, fmt.Errorf("h2load: no request succeeded: %s", out)
					}
					return v, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("no req/s in h2load's output: %s", out)
}

func median(ms []measure) measure {
	pick := func(f func(measure) float64) float64 {
		v := make([]float64, len(ms))
		for i, m := range ms {
			v[i] = f(m)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	out := measure{
		keepRPS:    pick(func(m measure) float64 { return m.keepRPS }),
		keepP99:    time.Duration(pick(func(m measure) float64 { return float64(m.keepP99) })),
		handshakes: pick(func(m measure) float64 { return m.handshakes }),
		h2RPS:      pick(func(m measure) float64 { return m.h2RPS }),
	}
	for _, m := range ms {
		out.errors += m.errors
	}
	return out
}

func medianWrk(rs []wrkResult) wrkResult {
	rps := make([]float64, len(rs))
	p99 := make([]time.Duration, len(rs))
	out := wrkResult{}
	for i, r := range rs {
		rps[i], p99[i] = r.rps, r.p99
		out.errors += r.errors
	}
	slices.Sort(rps)
	slices.Sort(p99)
	out.rps, out.p99 = rps[len(rps)/2], p99[len(p99)/2]
	return out
}
