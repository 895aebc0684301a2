// Package e2e tests berth from the outside: the real binary, a real daemon
// per test in its own home, real agents (berth's own sample-agent), real
// sockets and real HTTP through berth's proxy. Nothing is mocked.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/state"
)

// berthBin is the berth binary TestMain builds once for every test.
var berthBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "go env GOMOD:", err)
		return 1
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	dir, err := os.MkdirTemp("", "be2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Agents may run as their own unprivileged user: they must reach the binary.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	berthBin = filepath.Join(dir, "berth")
	build := exec.Command("go", "build", "-o", berthBin, "./cmd/berth")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building berth: %v\n%s", err, b)
		return 1
	}
	return m.Run()
}

// env is one test's berth: a home, its daemon and the apps deployed in it.
type env struct {
	t      *testing.T
	home   string
	daemon *exec.Cmd
	waited chan struct{} // closed when the daemon process has been waited for
	admin  int           // the daemon's /metrics port

	mu   sync.Mutex
	apps map[string]bool
	pids map[int]bool // agent pids seen, ended at cleanup if still alive

	setupPID int // a daemon `berth setup` started (TestRemoteSetupFreshHome)
}

// newEnv makes a short home (unix socket paths must stay under 108 bytes),
// starts a daemon in it and registers the cleanup that leaves nothing behind.
func newEnv(t *testing.T) *env {
	t.Helper()
	home, err := os.MkdirTemp("", "be2e-")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, home: home, apps: map[string]bool{}, pids: map[int]bool{}}
	t.Cleanup(e.cleanup)
	e.startDaemon()
	return e
}

func (e *env) startDaemon() {
	e.t.Helper()
	e.startDaemonArgs("--supervised")
}

// startDaemonSelfRestarting starts a daemon that its front restarts
// should it die (no outside supervisor).
func (e *env) startDaemonSelfRestarting() {
	e.t.Helper()
	e.startDaemonArgs()
}

func (e *env) startDaemonArgs(extra ...string) {
	e.t.Helper()
	logf, err := os.OpenFile(filepath.Join(e.home, "daemon.out"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	defer logf.Close()
	if e.admin == 0 {
		e.admin = freePort(e.t)
	}
	// The test is the daemon's supervisor (it restarts it by hand), so the
	// front must not; TestDaemonRestartsItself starts one without the flag.
	cmd := exec.Command(berthBin, append([]string{"daemon", "--home", e.home, "--admin", fmt.Sprintf("127.0.0.1:%d", e.admin)}, extra...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("starting daemon: %v", err)
	}
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()
	e.daemon, e.waited = cmd, waited
	e.eventually(15*time.Second, "daemon answers", func() error {
		select {
		case <-waited:
			return errStop(fmt.Errorf("daemon exited early; log:\n%s", e.daemonLog()))
		default:
		}
		if r := e.berth("status"); r.code != 0 {
			return fmt.Errorf("berth status: exit %d: %s", r.code, r.stderr)
		}
		return nil
	})
}

// stopDaemon sends sig to the daemon and waits for it to exit.
func (e *env) stopDaemon(sig syscall.Signal) {
	e.t.Helper()
	if e.daemon == nil {
		return
	}
	_ = e.daemon.Process.Signal(sig)
	select {
	case <-e.waited:
	case <-time.After(20 * time.Second):
		_ = e.daemon.Process.Kill()
		<-e.waited
		e.t.Errorf("daemon did not exit within 20s of %v", sig)
	}
	e.daemon = nil
}

func (e *env) daemonLog() string {
	b, _ := os.ReadFile(filepath.Join(e.home, "daemon.out"))
	return string(b)
}

// cleanup stops the apps, the daemon, the keeper and any agent left, then
// removes the home. It ends only processes this test started (by pid).
func (e *env) cleanup() {
	if e.daemon != nil {
		e.mu.Lock()
		apps := make([]string, 0, len(e.apps))
		for a := range e.apps {
			apps = append(apps, a)
		}
		e.mu.Unlock()
		for _, a := range apps {
			e.notePIDs(a)
			if r := e.berth("stop", a); r.code != 0 && r.code != 6 {
				e.t.Logf("cleanup: berth stop %s: exit %d: %s", a, r.code, r.stderr)
			}
		}
		e.stopDaemon(syscall.SIGTERM)
	}
	// The front outlives the daemon by design; it goes once the daemon
	// has stopped and released it (so nothing restarts the daemon).
	for _, f := range []string{"run/keeper/keeper.pid", "run/front/front.pid"} {
		if b, err := os.ReadFile(filepath.Join(e.home, f)); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				endPID(pid)
			}
		}
	}
	e.mu.Lock()
	for pid := range e.pids {
		if alive(pid) {
			e.t.Logf("cleanup: agent pid %d still alive after stop; killing it", pid)
			endPID(pid)
		}
	}
	e.mu.Unlock()
	if e.t.Failed() {
		e.t.Logf("daemon log:\n%s", e.daemonLog())
	}
	_ = os.RemoveAll(e.home)
}

// notePIDs records app's agent pids so cleanup can make sure they are gone.
func (e *env) notePIDs(app string) {
	r := e.berth("status", app, "--json")
	var apps []deploy.AppStatus
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &apps) != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range apps {
		for _, in := range a.Instances {
			if in.PID > 1 {
				e.pids[in.PID] = true
			}
		}
	}
}

// endPID sends SIGTERM, waits up to 5s, then SIGKILL.
func endPID(pid int) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 100 && alive(pid); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if alive(pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// alive reports whether pid runs; a zombie (no init reaps it here) is dead.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// result is one finished CLI run.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// berth runs the CLI against this env's home, with a 60s limit.
func (e *env) berth(args ...string) result {
	return runBerth(e.home, args...)
}

func runBerth(home string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, append([]string{"--home", home}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		code = -1
		errb.WriteString(err.Error())
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// app describes one release of a test app; spec renders its berth.toml.
type app struct {
	name     string
	version  string
	mode     string
	listen   int    // proxy port; 0 = worker (no [service])
	strategy string // "" = the spec's default
	verify   string // verify_for; default "2s"
	ports    [2]int
	env      map[string]string
	command  []string // default: the sample agent
	user     *string  // nil = "root"
	extra    string   // appended to [deploy]
	noChecks bool
	checks   string // replaces the default readiness check when set
	protocol string // [service] protocol; "" = the default (http)
}

func (a app) spec() string {
	var b strings.Builder
	fmt.Fprintf(&b, "version = 1\nname = %q\n\n[run]\n", a.name)
	cmd := a.command
	if cmd == nil {
		cmd = []string{berthBin, "sample-agent"}
	}
	q := make([]string, len(cmd))
	for i, c := range cmd {
		q[i] = strconv.Quote(c)
	}
	fmt.Fprintf(&b, "command = [%s]\n", strings.Join(q, ", "))
	// Tests run as root here and in CI; test agents need no dedicated system
	// user, except in the test of that feature (TestDefaultUser).
	if a.user == nil {
		b.WriteString("user = \"root\"\n")
	} else if *a.user != "" {
		fmt.Fprintf(&b, "user = %q\n", *a.user)
	}
	env := map[string]string{"VERSION": a.version, "MODE": a.mode}
	for k, v := range a.env {
		env[k] = v
	}
	var kv []string
	for k, v := range env {
		if v != "" {
			kv = append(kv, fmt.Sprintf("%s = %q", k, v))
		}
	}
	fmt.Fprintf(&b, "env = { %s }\nstop_timeout = \"3s\"\n\n", strings.Join(kv, ", "))
	if a.listen != 0 {
		fmt.Fprintf(&b, "[service]\nlisten = \"127.0.0.1:%d\"\n", a.listen)
		if a.protocol != "" {
			fmt.Fprintf(&b, "protocol = %q\n", a.protocol)
		}
		b.WriteString("\n")
	}
	verify := a.verify
	if verify == "" {
		verify = "2s"
	}
	b.WriteString("[deploy]\n")
	if a.strategy != "" {
		fmt.Fprintf(&b, "strategy = %q\n", a.strategy)
	}
	fmt.Fprintf(&b, "healthy_after = 2\nverify_for = %q\ndrain_timeout = \"10s\"\n", verify)
	// The latency verdict compares p99s before and after the switch; on
	// CI's two shared cores, with every package's tests running at once,
	// scheduling alone moves a p99 several-fold. It is tested with fixed
	// numbers in internal/deploy (TestJudge); these tests judge errors.
	b.WriteString("max_latency_rise = 0.0\n")
	if a.ports[0] != 0 {
		fmt.Fprintf(&b, "ports = [%d, %d]\n", a.ports[0], a.ports[1])
	}
	b.WriteString(a.extra)
	if a.checks != "" {
		b.WriteString("\n" + a.checks)
	} else if a.listen != 0 && !a.noChecks {
		b.WriteString(`
[[checks]]
name = "up"
type = "http"
path = "/up"
interval = "200ms"
timeout = "1s"
retries = 2
start_period = "2s"
`)
	}
	return b.String()
}

// write puts the release's spec in its own directory and returns its path.
func (e *env) write(a app) string {
	e.t.Helper()
	dir := filepath.Join(e.home, "src", a.name+"-"+a.version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	p := filepath.Join(dir, "berth.toml")
	if err := os.WriteFile(p, []byte(a.spec()), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// deploy writes and deploys a release and returns the CLI's result.
func (e *env) deploy(a app) result {
	e.t.Helper()
	p := e.write(a)
	e.mu.Lock()
	e.apps[a.name] = true
	e.mu.Unlock()
	r := e.berth("deploy", "-f", p)
	e.notePIDs(a.name)
	return r
}

// mustDeploy deploys a release that must go live.
func (e *env) mustDeploy(a app) result {
	e.t.Helper()
	r := e.deploy(a)
	if r.code != 0 {
		e.t.Fatalf("deploy %s %s: %s", a.name, a.version, r)
	}
	return r
}

func (e *env) status(name string) deploy.AppStatus {
	e.t.Helper()
	r := e.berth("status", name, "--json")
	if r.code != 0 {
		e.t.Fatalf("berth status %s: %s", name, r)
	}
	var apps []deploy.AppStatus
	if err := json.Unmarshal([]byte(r.stdout), &apps); err != nil || len(apps) != 1 {
		e.t.Fatalf("berth status %s --json: %v: %s", name, err, r.stdout)
	}
	return apps[0]
}

// liveInstance returns the live instance of an app.
func (e *env) liveInstance(name string) deploy.InstanceStatus {
	e.t.Helper()
	st := e.status(name)
	for _, in := range st.Instances {
		if in.Live {
			return in
		}
	}
	e.t.Fatalf("%s has no live instance: %+v", name, st)
	return deploy.InstanceStatus{}
}

// history returns the app's deployments, newest first.
func (e *env) history(name string) []state.Deployment {
	e.t.Helper()
	r := e.berth("history", name, "--json", "-n", "0")
	if r.code != 0 {
		e.t.Fatalf("berth history %s: %s", name, r)
	}
	var ds []state.Deployment
	if err := json.Unmarshal([]byte(r.stdout), &ds); err != nil {
		e.t.Fatalf("berth history --json: %v: %s", err, r.stdout)
	}
	return ds
}

// latest returns the newest deployment of the app.
func (e *env) latest(name string) state.Deployment {
	e.t.Helper()
	ds := e.history(name)
	if len(ds) == 0 {
		e.t.Fatalf("no deployments of %s", name)
	}
	newest := ds[0]
	for _, d := range ds {
		if d.StartedAt.After(newest.StartedAt) {
			newest = d
		}
	}
	return newest
}

// errStopped wraps an error that makes eventually give up at once.
type errStopped struct{ error }

func errStop(err error) error { return errStopped{err} }

// eventually polls f until it returns nil, failing the test at the deadline.
func (e *env) eventually(limit time.Duration, what string, f func() error) {
	e.t.Helper()
	if err := poll(limit, f); err != nil {
		e.t.Fatalf("%s: not within %s: %v", what, limit, err)
	}
}

func poll(limit time.Duration, f func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := f()
		if err == nil {
			return nil
		}
		var stop errStopped
		if errors.As(err, &stop) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// newClient returns an HTTP client of its own (no shared pool between tests).
func newClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
}

// get fetches url and returns the status and trimmed body.
func get(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), err
}

// waitAnswer polls the proxy until GET / answers 200 with want.
func (e *env) waitAnswer(port int, want string) {
	e.t.Helper()
	c := newClient(3 * time.Second)
	defer c.CloseIdleConnections()
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	e.eventually(15*time.Second, "proxy answers "+want, func() error {
		code, body, err := get(c, url)
		if err != nil {
			return err
		}
		if code != 200 || body != want {
			return fmt.Errorf("GET / = %d %q, want 200 %q", code, body, want)
		}
		return nil
	})
}

// load sends GET / through the proxy from n goroutines until stopped, at
// most maxRequests in all and for at most maxTime.
type load struct {
	sent, failed atomic.Int64
	mu           sync.Mutex
	firstErrs    []string
	bodies       map[string]int
	cancel       context.CancelFunc
	done         sync.WaitGroup
	client       *http.Client
}

func startLoad(port, n int) *load {
	const maxRequests, maxTime = 200_000, 60 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), maxTime)
	l := &load{cancel: cancel, bodies: map[string]int{}, client: newClient(5 * time.Second)}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	for i := 0; i < n; i++ {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			for ctx.Err() == nil && l.sent.Load() < maxRequests {
				l.sent.Add(1)
				code, body, err := get(l.client, url)
				l.mu.Lock()
				if err != nil || code/100 != 2 {
					l.failed.Add(1)
					if len(l.firstErrs) < 5 {
						l.firstErrs = append(l.firstErrs, fmt.Sprintf("%d %q %v", code, body, err))
					}
				} else {
					l.bodies[body]++
				}
				l.mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	return l
}

// stop ends the load and waits for requests in flight.
func (l *load) stop() {
	l.cancel()
	l.done.Wait()
	l.client.CloseIdleConnections()
}

func (l *load) errs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.firstErrs...)
}

// readLines returns the lines of a file, or nil.
func readLines(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		out = append(out, s.Text())
	}
	return out
}
