package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// uploadRe matches the line remote deploy prints about its upload.
var uploadRe = regexp.MustCompile(`upload: (\d+) of (\d+) contents new, (\d+) bytes sent \(release (\d+) bytes\)`)

// uploaded returns the new contents and bytes sent that r reports.
func uploaded(t *testing.T, r result) (int, int64) {
	t.Helper()
	m := uploadRe.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no upload line: %s", r)
	}
	n, _ := strconv.Atoi(m[1])
	b, _ := strconv.ParseInt(m[3], 10, 64)
	return n, b
}

// writeRelease writes a release directory on the laptop: the spec, a
// 1 MiB data file and a small one, and returns the spec's path.
func writeRelease(t *testing.T, dir string, a app, small string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("berth remote upload "), 1<<20/20)
	for name, b := range map[string][]byte{"berth.toml": []byte(a.spec()), "data/big.bin": big, "data/small.txt": []byte(small)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("data/small.txt", filepath.Join(dir, "small-link")); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	return filepath.Join(dir, "berth.toml")
}

// TestRemoteDeployUploadsOnlyChanges: through a real sshd, status answers
// from the remote daemon; a deploy uploads the release, prints the same
// steps as locally and goes live; a second deploy with one small file
// changed sends only that file's content. A context makes --host
// unnecessary, and --host wins over it.
func TestRemoteDeployUploadsOnlyChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := newSSHServer(t, binDirWith(t), e.home)
	l := newLaptop(t, s, "")

	if r := l.remote("status"); r.code != 0 || !strings.Contains(r.stdout, "no apps yet") {
		t.Fatalf("status over ssh: %s", r)
	}
	port := freePort(t)
	e.apps["remote"] = true
	src := filepath.Join(l.home, "src")
	spec := writeRelease(t, src, app{name: "remote", version: "v1", mode: "good", listen: port}, "one\n")
	r := l.remote("deploy", "-f", spec)
	if r.code != 0 {
		t.Fatalf("remote deploy: %s", r)
	}
	for _, want := range []string{"deploying remote with bluegreen to ssh://berthtest", "install release", "switch", "live: "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("remote deploy output lacks %q: %s", want, r)
		}
	}
	n1, b1 := uploaded(t, r)
	if n1 != 3 || b1 < 1<<20 {
		t.Errorf("first deploy sent %d contents, %d bytes; want 3 contents and more than 1 MiB", n1, b1)
	}
	e.notePIDs("remote")
	e.waitAnswer(port, "hello from v1")

	// One small file changed (and the version in the spec).
	spec = writeRelease(t, src, app{name: "remote", version: "v2", mode: "good", listen: port}, "two\n")
	r = l.remote("deploy", "-f", spec)
	if r.code != 0 {
		t.Fatalf("second remote deploy: %s", r)
	}
	n2, b2 := uploaded(t, r)
	if n2 != 2 || b2 > 8<<10 {
		t.Errorf("second deploy sent %d contents, %d bytes; want the spec and small.txt only (a few KiB)", n2, b2)
	}
	e.notePIDs("remote")
	e.waitAnswer(port, "hello from v2")
	if got := e.liveInstance("remote").Release; got == "" {
		t.Fatal("no live release")
	}

	// A context instead of --host.
	if r := l.berth("context", "add", "t1", l.url); r.code != 0 {
		t.Fatalf("context add: %s", r)
	}
	if r := l.berth("context", "use", "t1"); r.code != 0 {
		t.Fatalf("context use: %s", r)
	}
	if r := l.berth("context", "ls"); r.code != 0 || !strings.Contains(r.stdout, "* t1") {
		t.Fatalf("context ls does not mark t1 active: %s", r)
	}
	info, err := os.Stat(filepath.Join(l.home, ".config", "berth", "contexts.toml"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("contexts.toml: %v, mode %v; want 0600", err, info.Mode())
	}
	if r := l.berth("status", "remote"); r.code != 0 || !strings.Contains(r.stdout, "live") {
		t.Fatalf("status through the active context: %s", r)
	}
	if r := l.berth("--host", "ssh://127.0.0.1:1", "status"); r.code == 0 || !strings.Contains(r.stderr, "unreachable") {
		t.Fatalf("--host does not win over the context (or the error is unclear): %s", r)
	}
	if r := l.berth("logs", "remote", "-n", "5"); r.code != 0 {
		t.Fatalf("logs through ssh: %s", r)
	}
	// The following streams arrive through the ssh pipe as they are written.
	l.firstLine("events", "remote", "-f", "-n", "1")
	l.firstLine("logs", "remote", "-f", "-n", "1")
}

// firstLine starts a following command on the laptop, waits for its first
// line, then interrupts it: the stream came through while open.
func (l *laptop) firstLine(args ...string) {
	l.t.Helper()
	cmd := exec.Command(berthBin, args...)
	cmd.Env = l.env()
	out, err := cmd.StdoutPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			got <- sc.Text()
		}
		close(got)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case line, ok := <-got:
		if !ok {
			l.t.Errorf("berth %v ended without a line", args)
		}
		_ = line
	case <-time.After(30 * time.Second):
		l.t.Errorf("berth %v printed nothing within 30s", args)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		l.t.Errorf("berth %v did not end within 10s of SIGINT", args)
	}
}

// TestRemoteHostKeyMismatch: a host whose key is not the one known_hosts
// has is refused, with one line saying so and what to do.
func TestRemoteHostKeyMismatch(t *testing.T) {
	t.Parallel()
	s := newSSHServer(t, binDirWith(t), t.TempDir())
	other := filepath.Join(t.TempDir(), "other")
	keygen(t, other)
	pub, err := os.ReadFile(other + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	l := newLaptop(t, s, strings.TrimSpace(string(pub)))
	r := l.remote("status")
	if r.code == 0 || !strings.Contains(r.stderr, "host key of berthtest changed") || !strings.Contains(r.stderr, "ssh-keygen -R") {
		t.Fatalf("a changed host key was not refused clearly: %s", r)
	}
	if lines := strings.Count(strings.TrimSpace(r.stderr), "\n"); lines != 0 {
		t.Errorf("the error takes %d lines, want one: %q", lines+1, r.stderr)
	}
}

// TestRemoteNoDaemonOrBerth: a host without a running daemon exits 4
// naming the fix; a host without berth says to run setup.
func TestRemoteNoDaemonOrBerth(t *testing.T) {
	t.Parallel()
	s := newSSHServer(t, binDirWith(t), t.TempDir())
	l := newLaptop(t, s, "")
	r := l.remote("status")
	if r.code != 4 || !strings.Contains(r.stderr, "no berth daemon runs on the host") || !strings.Contains(r.stderr, "setup") {
		t.Fatalf("no daemon: want exit 4 and the fix: %s", r)
	}
	s2 := newSSHServer(t, t.TempDir(), t.TempDir())
	l2 := newLaptop(t, s2, "")
	r = l2.remote("status")
	if r.code == 0 || !strings.Contains(r.stderr, "berth is not installed on the host") {
		t.Fatalf("no berth: %s", r)
	}
}

// TestRemoteSetupFreshHome: setup onto a host with no berth and an empty
// home copies this binary, starts the daemon (no systemd here: detached)
// and checks it answers; a deploy then goes live, and a second setup
// changes nothing.
func TestRemoteSetupFreshHome(t *testing.T) {
	t.Parallel()
	bin, err := os.MkdirTemp("", "be2e-bin-")
	if err != nil {
		t.Fatal(err)
	}
	home, err := os.MkdirTemp("", "be2e-")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, home: home, apps: map[string]bool{}, pids: map[int]bool{}}
	t.Cleanup(func() { e.cleanupSetup(); os.RemoveAll(bin) })
	s := newSSHServer(t, bin, home)
	l := newLaptop(t, s, "")
	r := l.remote("setup", "--bin", filepath.Join(bin, "berth"))
	if r.code != 0 || !strings.Contains(r.stdout, "has no berth: installing") || !strings.Contains(r.stdout, "answers (pid") {
		t.Fatalf("setup: %s", r)
	}
	m := regexp.MustCompile(`answers \(pid (\d+)`).FindStringSubmatch(r.stdout)
	pid, _ := strconv.Atoi(m[1])
	e.setupPID = pid
	if _, err := os.Stat(filepath.Join(bin, "berth")); err != nil {
		t.Fatalf("berth was not installed: %v", err)
	}
	r = l.remote("setup", "--bin", filepath.Join(bin, "berth"))
	if r.code != 0 || !strings.Contains(r.stdout, "already") {
		t.Fatalf("second setup: %s", r)
	}
	port := freePort(t)
	spec := writeRelease(t, filepath.Join(l.home, "src"), app{name: "fresh", version: "v1", mode: "good", listen: port}, "x\n")
	e.apps["fresh"] = true
	if r := l.remote("deploy", "-f", spec); r.code != 0 {
		t.Fatalf("deploy after setup: %s", r)
	}
	e.notePIDs("fresh")
	e.waitAnswer(port, "hello from v1")
}

// cleanupSetup stops what setup started: the apps, the daemon (by the pid
// it reported) and its keeper.
func (e *env) cleanupSetup() {
	if e.setupPID > 1 {
		e.daemon = nil
		for a := range e.apps {
			e.notePIDs(a)
			e.berth("stop", a)
		}
		endPID(e.setupPID)
	}
	e.cleanup()
}

// TestRemoteDeployCtrlCDetaches: SIGINT to a remote deploy ends the client
// with the local deploy's message (commands carrying --host); the deploy
// goes on in the remote daemon and goes live.
func TestRemoteDeployCtrlCDetaches(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := newSSHServer(t, binDirWith(t), e.home)
	l := newLaptop(t, s, "")
	port := freePort(t)
	e.apps["slowr"] = true
	src := filepath.Join(l.home, "src")
	spec := writeRelease(t, src, slowApp("slowr", "v1", port), "s\n")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, "--host", l.url, "deploy", "-f", spec)
	cmd.Env = l.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var seen strings.Builder
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "install release") {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = bufio.NewReader(out).WriteTo(&seen) }()
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("interrupted remote deploy exited %d, want 130\nstdout:\n%s\nstderr:\n%s", code, seen.String(), stderr.String())
	}
	want := fmt.Sprintf("berth --host %s deploy --attach slowr", l.url)
	if !strings.Contains(stderr.String(), "goes on in the daemon") || !strings.Contains(stderr.String(), want) {
		t.Fatalf("detach message lacks the deploy going on or %q:\n%s", want, stderr.String())
	}
	e.eventually(60*time.Second, "the detached deploy goes live", func() error {
		if st := e.status("slowr"); st.Deploying != "" || len(st.Instances) == 0 || !st.Instances[0].Live && (len(st.Instances) < 2 || !st.Instances[1].Live) {
			return fmt.Errorf("not live yet: %+v", st)
		}
		return nil
	})
	e.notePIDs("slowr")
	e.waitAnswer(port, "hello from v1")
}
