package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
)

// balanceRun is one cell of the balancing table: the proxy in front of
// members backends, loaded for one round.
type balanceRun struct {
	members int
	rps     float64
	p99     time.Duration
	failed  int64
}

// balance measures the proxy with a live set of 4 members against 1: the
// same small backend answer, the same clients, rounds interleaved (1, 4,
// 4, 1, ...) so the machine's drift hits both alike.
func balance(ctx context.Context, rounds, conns int, d time.Duration) (map[int][]balanceRun, error) {
	body := strings.Repeat("x", 100)
	var addrs []string
	for range 4 {
		addr, closeFn, err := backend(body)
		if err != nil {
			return nil, err
		}
		defer closeFn()
		addrs = append(addrs, addr)
	}
	p, err := proxy.New(proxy.Config{Listen: "127.0.0.1:0", Protocol: "http"})
	if err != nil {
		return nil, fmt.Errorf("starting the proxy: %w", err)
	}
	defer p.Close()
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = p.Serve(pctx) }()
	url := "http://" + p.Addr().String() + "/"
	out := map[int][]balanceRun{}
	for r := range rounds {
		order := []int{1, 4}
		if r%2 == 1 {
			order = []int{4, 1}
		}
		for _, n := range order {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			var ms []proxy.Member
			for i := range n {
				ms = append(ms, proxy.Member{Target: proxy.Target{Name: fmt.Sprintf("blue.%d", i), Addr: addrs[i]}, Weight: 1})
			}
			if n == 1 {
				p.Switch(ms[0].Target)
			} else {
				p.SwitchSet("blue", ms)
			}
			l := startLoad(url, conns, true, d+10*time.Second)
			time.Sleep(d)
			l.stop()
			out[n] = append(out[n], balanceRun{members: n, rps: l.rps(), p99: l.p99(), failed: l.failed.Load()})
		}
	}
	return out, nil
}

// backend is a small HTTP server on loopback answering body.
func backend(body string) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("starting a backend: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, body)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return l.Addr().String(), func() { _ = srv.Close() }, nil
}

// balanceTable renders the balancing runs: medians over the rounds and the
// median of the per-round ratios of 4 members to 1.
func balanceTable(runs map[int][]balanceRun, conns int, d time.Duration) string {
	t := &table{head: []string{"live set", "req/s (median)", "p99 (median)", "failed", "req/s vs 1", "p99 vs 1"}}
	med := func(n int, f func(balanceRun) float64) float64 {
		var xs []float64
		for _, r := range runs[n] {
			xs = append(xs, f(r))
		}
		return median(xs)
	}
	ratio := func(f func(balanceRun) float64) float64 {
		var xs []float64
		for i := range min(len(runs[1]), len(runs[4])) {
			xs = append(xs, f(runs[4][i])/f(runs[1][i]))
		}
		return median(xs)
	}
	rps := func(r balanceRun) float64 { return r.rps }
	p99 := func(r balanceRun) float64 { return float64(r.p99) }
	for _, n := range []int{1, 4} {
		var failed int64
		for _, r := range runs[n] {
			failed += r.failed
		}
		rr, pr := "1.00", "1.00"
		if n == 4 {
			rr, pr = fmt.Sprintf("%.2f", ratio(rps)), fmt.Sprintf("%.2f", ratio(p99))
		}
		t.row(fmt.Sprintf("%d member(s)", n), fmt.Sprintf("%.0f", med(n, rps)), ms(time.Duration(med(n, p99))), failed, rr, pr)
	}
	return t.String() + fmt.Sprintf("\n%d interleaved rounds of %s per cell; %d keep-alive Go clients, in-process proxy "+
		"(`internal/proxy`, least outstanding requests over the set), backends of 100-byte answers on loopback, "+
		"all in one process; the ratios are medians of the per-round ratios. A set of 4 spreads the same clients over 4 "+
		"backend servers, so this end-to-end ratio includes the backends' own parallelism; the request path alone is "+
		"`go test -bench 'Forward' ./internal/proxy/` (BenchmarkForward against BenchmarkForwardSet4).\n", len(runs[1]), d, conns)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
