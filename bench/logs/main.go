// Command logs measures log throughput: a real child process writes
// sequence-numbered lines as fast as it can, (a) straight into a file (the
// baseline), (b) through a pipe into logs.Copy without rotation, (c) the
// same with rotation at 10 MB and compression. It checks (b) and (c) read
// back with no line lost or repeated, (d) is (c) with 10 secrets to redact
// (none of which the lines hold: the cost every line pays), and (e) the same
// with every 10th line holding one (the redacted lines are checked), and
// prints a table.
//
//	go run ./bench/logs [-n 1000000]
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/logs"
)

const childEnv = "BERTH_BENCH_LOGS_CHILD"

// target is the rate (c) must reach.
const target = 100_000

func main() {
	if n := os.Getenv(childEnv); n != "" {
		os.Exit(child(n))
	}
	n := flag.Int("n", 1_000_000, "lines per run")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "bench/logs:", err)
		os.Exit(1)
	}
}

// child writes "seq <i> <padding>" lines (about 60 bytes, a typical log line).
func child(arg string) int {
	n, err := strconv.Atoi(arg)
	if err != nil {
		return 2
	}
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	secret := os.Getenv(secretEnv) != ""
	for i := range n {
		if secret && i%10 == 0 {
			fmt.Fprintf(w, "seq %d level=info msg=\"calling api\" key=%s\n", i, benchSecret(3))
			continue
		}
		fmt.Fprintf(w, "seq %d level=info msg=\"request served\" status=200\n", i)
	}
	if w.Flush() != nil {
		return 1
	}
	return 0
}

type result struct {
	name  string
	dur   time.Duration
	extra string
}

func run(n int) error {
	dir, err := os.MkdirTemp("", "berth-bench-logs-")
	if err != nil {
		return fmt.Errorf("creating work directory: %w", err)
	}
	defer os.RemoveAll(dir)
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding own binary: %w", err)
	}
	var results []result
	d, err := direct(self, n, filepath.Join(dir, "direct.log"))
	if err != nil {
		return err
	}
	results = append(results, result{name: "(a) child > file (baseline)", dur: d})
	rot := logs.Options{MaxSize: 10_000_000, Keep: -1, Compress: true}
	for _, c := range []struct {
		name   string
		opt    logs.Options
		red    *logs.Redactor
		secret bool
	}{
		{"(b) pipe > Copy, no rotation", logs.Options{Keep: -1}, nil, false},
		{"(c) pipe > Copy, rotate 10MB + gzip", rot, nil, false},
		{"(d) (c) + 10 secrets redacted, none seen", rot, benchRedactor(), false},
		{"(e) (d), a secret in every 10th line", rot, benchRedactor(), true},
	} {
		path := filepath.Join(dir, strings.Fields(c.name)[0][1:2]+".log")
		r, err := piped(self, n, path, c.opt, c.red, c.secret)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		r.name = c.name
		results = append(results, r)
	}
	fmt.Printf("lines per run: %d\n\n", n)
	fmt.Printf("| %-42s | %12s | %10s | %s\n", "case", "lines/s", "vs (a)", "check")
	fmt.Printf("|%s|%s|%s|---\n", strings.Repeat("-", 44), strings.Repeat("-", 14), strings.Repeat("-", 12))
	base := float64(n) / d.Seconds()
	for _, r := range results {
		rate := float64(n) / r.dur.Seconds()
		fmt.Printf("| %-42s | %12.0f | %9.2fx | %s\n", r.name, rate, rate/base, r.extra)
	}
	last := results[2]
	if rate := float64(n) / last.dur.Seconds(); rate < target {
		return fmt.Errorf("(c) reached %.0f lines/s, below the %d target", rate, target)
	}
	fmt.Printf("\ntarget >= %d lines/s with rotation: met\n", target)
	return nil
}

func childCmd(self string, n int, secret bool) *exec.Cmd {
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childEnv+"="+strconv.Itoa(n))
	if secret {
		cmd.Env = append(cmd.Env, secretEnv+"=1")
	}
	return cmd
}

// secretEnv makes the child put benchSecret(3) into every 10th line.
const secretEnv = "BERTH_BENCH_LOGS_SECRET"

// benchSecret is the i-th of the bench's secrets: 32 bytes, like an API key.
func benchSecret(i int) string { return fmt.Sprintf("sk-bench-%02d-5f1c9e07a4b2d8e6c3aa", i) }

func benchRedactor() *logs.Redactor {
	values := map[string][]byte{}
	for i := range 10 {
		values[fmt.Sprintf("KEY_%d", i)] = []byte(benchSecret(i))
	}
	return logs.NewRedactor(values)
}

func direct(self string, n int, path string) (time.Duration, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("creating baseline file: %w", err)
	}
	defer f.Close()
	cmd := childCmd(self, n, false)
	cmd.Stdout = f
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("running baseline child: %w", err)
	}
	return time.Since(start), nil
}

// piped times from the child's start until its last line is in the file
// (Close flushed it); compression of the last files is included.
func piped(self string, n int, path string, opt logs.Options, red *logs.Redactor, secret bool) (result, error) {
	w, err := logs.Open(path, opt)
	if err != nil {
		return result{}, err
	}
	cmd := childCmd(self, n, secret)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return result{}, fmt.Errorf("making pipe: %w", err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, fmt.Errorf("starting child: %w", err)
	}
	copyErr := logs.CopyRedacted(w, logs.Stdout, out, red, nil)
	waitErr := cmd.Wait()
	closeErr := w.Close()
	dur := time.Since(start)
	if err := errors.Join(copyErr, waitErr, closeErr); err != nil {
		return result{}, err
	}
	s := w.Stats()
	got, err := verify(path, n, secret)
	if err != nil {
		return result{}, err
	}
	return result{dur: dur, extra: fmt.Sprintf("%d lines read back in order, 0 lost, 0 repeated; %d rotations, %d gzipped, %d dropped", got, s.Rotations, s.Compressed, s.Dropped)}, nil
}

// verify reads the log back and checks lines 0..n-1, each once, in order.
func verify(path string, n int, secret bool) (int, error) {
	next := 0
	err := logs.Read(context.Background(), path, logs.Query{}, func(l logs.Line) error {
		f := strings.Fields(l.Text)
		if len(f) < 2 || f[1] != strconv.Itoa(next) {
			return fmt.Errorf("line %d: got %q (lost or repeated lines)", next, l.Text)
		}
		if secret && next%10 == 0 && (!strings.Contains(l.Text, "[secret KEY_3]") || strings.Contains(l.Text, benchSecret(3))) {
			return fmt.Errorf("line %d: %q is not redacted", next, l.Text)
		}
		next++
		return nil
	})
	if err != nil {
		return next, fmt.Errorf("verifying: %w", err)
	}
	if next != n {
		return next, fmt.Errorf("verifying: read %d lines, want %d: %w", next, n, io.ErrUnexpectedEOF)
	}
	return next, nil
}
