package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

const badSpec = `version = 1
name = "bad"

[run]
command = ["./agent"]
stop_timout = "5s"

[deploy]
strategy = "blue"
`

// TestBadInput: an invalid spec is refused with exit 2 and file:line:col
// problems, and nothing is deployed; a pinned port held by someone else
// fails the deploy naming the holder while v1 keeps serving.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := filepath.Join(e.home, "src", "bad")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte(badSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	where := regexp.MustCompile(`bad\.toml:\d+:\d+: `)

	r := e.berth("validate", "-f", bad)
	if r.code != 2 {
		t.Errorf("validate of a bad spec: want exit 2, got %s", r)
	}
	out := r.stdout + r.stderr
	for _, want := range []string{"bad.toml:6:", "stop_timout", "bad.toml:9:", "strategy"} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q: %s", want, r)
		}
	}
	if n := len(where.FindAllString(out, -1)); n < 2 {
		t.Errorf("validate printed %d file:line:col problems, want 2: %s", n, r)
	}

	r = e.berth("deploy", "-f", bad)
	if r.code != 2 || !where.MatchString(r.stdout+r.stderr) {
		t.Errorf("deploy of a bad spec: want exit 2 with file:line:col, got %s", r)
	}
	if r := e.berth("status", "bad"); r.code != 6 {
		t.Errorf("status of the refused app: want exit 6 (unknown), got %s", r)
	}
	if r := e.berth("status", "--json"); strings.Contains(r.stdout, `"bad"`) {
		t.Errorf("the refused app is known to the daemon: %s", r.stdout)
	}

	// A port pinned to one held by this test's own listener.
	port, p1, p2 := freePort(t), freePort(t), freePort(t)
	a := app{name: "pin", version: "v1", mode: "good", listen: port, ports: [2]int{p1, p2}}
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v1")
	before := e.liveInstance("pin")
	idle := p2
	if before.Port == p2 {
		idle = p1
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(idle)))
	if err != nil {
		t.Fatalf("holding port %d: %v", idle, err)
	}
	defer l.Close()
	a.version = "v2"
	r = e.deploy(a)
	if r.code == 0 {
		t.Fatalf("deploy onto a held port succeeded: %s", r)
	}
	if want := fmt.Sprintf("pid %d", os.Getpid()); !strings.Contains(r.stdout+r.stderr, want) {
		t.Errorf("port conflict message does not name the holder (%s): %s", want, r)
	}
	after := e.liveInstance("pin")
	if after.PID != before.PID || after.Release != before.Release || after.Color != before.Color {
		t.Errorf("live instance changed: %+v, was %+v", after, before)
	}
	e.waitAnswer(port, "hello from v1")
}

// TestDefaultUser: with no run.user, a root daemon runs the agent as the
// dedicated system user berth-<app>.
func TestDefaultUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root: only a root daemon creates and switches to a dedicated user")
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := "usr" + hex.EncodeToString(b)
	user := "berth-" + name
	// Registered before newEnv: cleanups run last-in first-out, so the user is
	// removed after its agent, the daemon and the keeper are gone.
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", user).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", user, err, out)
		}
	})
	e := newEnv(t)
	port := freePort(t)
	empty := ""
	e.mustDeploy(app{name: name, version: "v1", mode: "good", listen: port, user: &empty})
	e.waitAnswer(port, "hello from v1")

	out, err := exec.Command("id", "-u", user).Output()
	if err != nil {
		t.Fatalf("id -u %s: %v", user, err)
	}
	wantUID := strings.TrimSpace(string(out))
	pid := e.liveInstance(name).PID
	var uid []string
	for _, l := range readLines(fmt.Sprintf("/proc/%d/status", pid)) {
		if f, ok := strings.CutPrefix(l, "Uid:"); ok {
			uid = strings.Fields(f)
		}
	}
	if len(uid) != 4 {
		t.Fatalf("no Uid line in /proc/%d/status", pid)
	}
	for _, u := range uid {
		if u != wantUID {
			t.Errorf("agent pid %d runs with uids %v, want all %s (%s)", pid, uid, wantUID, user)
		}
	}
	// Its release is closed to others (0750) and open to its group, and
	// the agent, not root, works inside it.
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(cwd)
	if err != nil {
		t.Fatal(err)
	}
	gid, _ := exec.Command("id", "-g", user).Output()
	if got := fi.Sys().(*syscall.Stat_t).Gid; fi.Mode().Perm() != 0o750 || fmt.Sprint(got) != strings.TrimSpace(string(gid)) {
		t.Errorf("release %s: mode %04o group %d, want 0750 and %s's group %s", cwd, fi.Mode().Perm(), got, user, gid)
	}
}
