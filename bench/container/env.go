package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/container/enginetest"
)

// bench is the dockerd, the berth binary and the berth daemon of one run.
type bench struct {
	tmp, exe, home string
	eng            *enginetest.Engine
	daemon         *exec.Cmd
	waited         chan struct{}
	apps           []string
	verbose        bool // print each deploy's output on stderr
}

func setup(ctx context.Context, verbose bool) (*bench, error) {
	tmp, err := os.MkdirTemp("", "bcont-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // the front runs as berth_front and execs berth from here
		os.RemoveAll(tmp)
		return nil, err
	}
	b := &bench{verbose: verbose, tmp: tmp, exe: filepath.Join(tmp, "berth"), home: filepath.Join(tmp, "h")}
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", b.exe, "./cmd/berth").CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("building berth (run from the repository root): %w: %s", err, out)
	}
	if err := os.MkdirAll(filepath.Join(tmp, "docker"), 0o755); err != nil {
		return nil, err
	}
	if b.eng, err = enginetest.Docker(filepath.Join(tmp, "docker")); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(tmp, "img"), 0o755); err != nil {
		return nil, err
	}
	if err := b.eng.BuildImage(ctx, filepath.Join(tmp, "img"), "./internal/container/testdata/agent", "berth-bench-agent:1", ""); err != nil {
		b.close()
		return nil, err
	}
	logf, err := os.Create(filepath.Join(tmp, "daemon.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	b.daemon = exec.Command(b.exe, "daemon", "--home", b.home, "--supervised")
	b.daemon.Env = append(os.Environ(), "DOCKER_HOST="+b.eng.Host)
	b.daemon.Stdout, b.daemon.Stderr = logf, logf
	if err := b.daemon.Start(); err != nil {
		b.close()
		return nil, err
	}
	b.waited = make(chan struct{})
	go func() { _ = b.daemon.Wait(); close(b.waited) }()
	for range 200 {
		if out, err := b.berth(ctx, "status"); err == nil {
			_ = out
			return b, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.close()
	return nil, fmt.Errorf("the daemon did not answer in 20s")
}

func (b *bench) berth(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.exe, append([]string{"--home", b.home}, args...)...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("berth %v: %w: %s", args, err, out)
	}
	return string(out), nil
}

// close stops the apps, the daemon and keeper, dockerd (and with it the
// containers), all by PID, and removes the temporary directory.
func (b *bench) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, a := range b.apps {
		_, _ = b.berth(ctx, "stop", a)
	}
	keeper := 0
	if pb, err := os.ReadFile(filepath.Join(b.home, "run", "keeper", "keeper.pid")); err == nil {
		keeper, _ = strconv.Atoi(strings.TrimSpace(string(pb)))
	}
	front := 0
	if pb, err := os.ReadFile(filepath.Join(b.home, "run", "front", "front.pid")); err == nil {
		front, _ = strconv.Atoi(strings.TrimSpace(string(pb)))
	}
	if b.daemon != nil && b.daemon.Process != nil {
		_ = b.daemon.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.waited:
		case <-time.After(20 * time.Second):
			_ = b.daemon.Process.Kill()
			<-b.waited
		}
	}
	for _, pid := range []int{keeper, front} {
		if pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	if b.eng != nil {
		b.eng.Stop()
	}
	_ = os.RemoveAll(b.tmp)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// latency sends n sequential keep-alive GETs to port and returns the
// median and p99.
func latency(port, n int) (time.Duration, time.Duration, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer c.CloseIdleConnections()
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	ds := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		resp, err := c.Get(url)
		if err != nil {
			return 0, 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return 0, 0, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)*99/100], nil
}
