// Package demo is `berth demo`: a self-contained walkthrough on a fresh
// machine. It starts a real daemon in a temporary home, deploys the sample
// agent that ships inside berth, drives real HTTP traffic through berth's
// proxy while it deploys good and broken releases with both strategies, and
// prints what it measured. It leaves no process behind.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/home"
	"github.com/berth-dev/berth/internal/keeper"
	"github.com/berth-dev/berth/internal/sysuser"
)

// Config is what the demo needs from the CLI.
type Config struct {
	Exe      string              // berth's own binary: the daemon and the sample agent
	Out      io.Writer           // the walkthrough's narration
	Progress deploy.ProgressFunc // prints deploy steps
	Keep     bool                // keep the temporary home for inspection
}

// App is the demo app's name.
const App = "hello"

// Run runs the walkthrough and returns its summary.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	start := time.Now()
	root, err := os.MkdirTemp("", "berth-demo-")
	if err != nil {
		return Summary{}, err
	}
	d := &demo{cfg: cfg, h: home.Layout{Root: root}, sum: Summary{Home: root}}
	if _, err := sysuser.Lookup("berth-" + App); err != nil && os.Geteuid() == 0 {
		d.madeUser = true // the daemon will create it; the demo removes it after
	}
	defer d.cleanup()
	if err := d.walk(ctx); err != nil {
		return d.sum, err
	}
	d.sum.Took = time.Since(start)
	return d.sum, nil
}

type demo struct {
	cfg    Config
	h      home.Layout
	daemon *exec.Cmd
	client *api.Client
	sum    Summary
	port   int

	madeUser bool
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.cfg.Out, "\n== "+format+"\n", args...) }

func (d *demo) walk(ctx context.Context) error {
	if err := d.startDaemon(ctx); err != nil {
		return err
	}
	var err error
	if d.port, err = freePort(); err != nil {
		return err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", d.port)
	d.say("deploy v1 (blue-green, the default for an agent that takes traffic)")
	if _, err := d.deploy(ctx, "v1", "good", "bluegreen"); err != nil {
		return fmt.Errorf("first deploy: %w", err)
	}
	ld := newLoad(url)
	lctx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	loadDone := make(chan struct{})
	go func() { ld.run(lctx, 4, 5*time.Millisecond); close(loadDone) }()
	d.say("traffic: 4 clients through berth's proxy on %s", url)
	time.Sleep(time.Second)

	steps := []struct {
		version, mode, strategy, title string
	}{
		{"v2", "good", "bluegreen", "deploy v2 under traffic (blue-green)"},
		{"v3", "unhealthy", "bluegreen", "deploy a broken v3: its health check fails, traffic never moves"},
		{"v4", "errors", "bluegreen", "deploy a broken v4: healthy, but answers 500 to real traffic"},
		{"v5", "good", "restart", "for contrast, deploy v5 with the simple restart strategy"},
	}
	for _, s := range steps {
		d.say("%s", s.title)
		sent0, failed0 := ld.snapshot()
		dep, err := d.deploy(ctx, s.version, s.mode, s.strategy)
		time.Sleep(300 * time.Millisecond) // let requests in flight land before counting
		sent1, failed1 := ld.snapshot()
		d.sum.Deploys = append(d.sum.Deploys, DeployResult{Version: s.version, Mode: s.mode, Strategy: s.strategy,
			Outcome: dep.Outcome, Reason: dep.Reason, Took: dep.EndedAt.Sub(dep.StartedAt),
			Requests: sent1 - sent0, Failed: failed1 - failed0})
		var ae *api.Error
		if err != nil && !(errors.As(err, &ae) && ae.Code == api.CodeFailed) {
			return fmt.Errorf("deploying %s: %w", s.version, err)
		}
	}
	stopLoad()
	<-loadDone
	d.sum.Sent, d.sum.Failed = ld.snapshot()
	d.sum.Live = d.liveVersion(url)
	d.sum.Seen = ld.seen
	return nil
}

// deploy writes release <version> (the sample agent in mode) and deploys it.
func (d *demo) deploy(ctx context.Context, version, mode, strategy string) (dep deployResult, err error) {
	src, err := d.writeRelease(version, mode, strategy)
	if err != nil {
		return dep, err
	}
	specFile := filepath.Join(src, "berth.toml")
	data, err := os.ReadFile(specFile)
	if err != nil {
		return dep, err
	}
	r, err := d.client.Deploy(ctx, api.DeployRequest{SpecFile: specFile, Spec: data}, d.cfg.Progress)
	if err != nil {
		fmt.Fprintf(d.cfg.Out, "   -> %s: %s\n", r.Outcome, r.Reason)
	} else {
		fmt.Fprintf(d.cfg.Out, "   -> live: %s (%s)\n", r.Live, version)
	}
	return deployResult(r), err
}

func (d *demo) startDaemon(ctx context.Context) error {
	if err := d.h.Create(); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(d.h.Root, "daemon.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	d.daemon = exec.Command(d.cfg.Exe, "daemon", "--home", d.h.Root, "--admin", "")
	d.daemon.Stdout, d.daemon.Stderr = logf, logf
	if err := d.daemon.Start(); err != nil {
		return fmt.Errorf("starting the daemon: %w", err)
	}
	d.say("daemon started (pid %d) with home %s", d.daemon.Process.Pid, d.h.Root)
	d.client = api.NewClient(d.h.Socket())
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return d.client.WaitReady(wctx)
}

// cleanup stops the app, the daemon, the keeper and the front, and
// removes the home. The front outlives the daemon by design; it is ended
// once the daemon has stopped and released it (so nothing restarts it).
func (d *demo) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if d.client != nil {
		_, _ = d.client.Control(ctx, App, "stop", "")
		d.client.Close()
	}
	if d.daemon != nil && d.daemon.Process != nil {
		_ = d.daemon.Process.Signal(syscall.SIGTERM)
		_ = d.daemon.Wait()
	}
	if kc, err := keeper.Dial(d.h.KeeperDir()); err == nil {
		if pid, err := kc.PID(ctx); err == nil {
			stopPID(pid)
		}
		kc.Close()
	}
	if b, err := os.ReadFile(filepath.Join(d.h.RunDir(), "front", "front.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
			stopPID(pid)
		}
	}
	if d.madeUser {
		_ = sysuser.Remove(ctx, "berth-"+App)
	}
	if !d.cfg.Keep {
		_ = os.RemoveAll(d.h.Root)
	}
}

// stopPID ends a process the demo's daemon started, and waits for it.
func stopPID(pid int) {
	p, err := os.FindProcess(pid)
	if err != nil {
		return
	}
	_ = p.Signal(syscall.SIGTERM)
	for i := 0; i < 100; i++ {
		if p.Signal(syscall.Signal(0)) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = p.Kill()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
