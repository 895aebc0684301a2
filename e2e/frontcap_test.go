package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// capNetBindService is CAP_NET_BIND_SERVICE as a /proc capability mask.
const capNetBindService = "0000000000000400"

// lowPort returns a port below 1024 free on 127.0.0.1, trying a bounded
// range; only root can run this.
func lowPort(t *testing.T, not ...int) int {
	t.Helper()
	for p := 900; p < 1024; p++ {
		if slices.Contains(not, p) {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no free port in 127.0.0.1:900-1023")
	return 0
}

// procStatus returns the fields of /proc/PID/status.
func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	lines := readLines(fmt.Sprintf("/proc/%d/status", pid))
	if len(lines) == 0 {
		t.Fatalf("no /proc/%d/status", pid)
	}
	out := map[string]string{}
	for _, l := range lines {
		if k, v, ok := strings.Cut(l, ":"); ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// checkFrontCreds checks that pid runs as uid (all four ids) with
// CAP_NET_BIND_SERVICE as its only capability and no_new_privs.
func checkFrontCreds(t *testing.T, what string, pid int, uid string) {
	t.Helper()
	st := procStatus(t, pid)
	if ids := strings.Fields(st["Uid"]); len(ids) != 4 || ids[0] != uid || ids[1] != uid || ids[2] != uid || ids[3] != uid {
		t.Errorf("%s pid %d: Uid %q, want %s four times", what, pid, st["Uid"], uid)
	}
	for _, k := range []string{"CapEff", "CapPrm", "CapAmb"} {
		if st[k] != capNetBindService {
			t.Errorf("%s pid %d: %s %s, want %s (CAP_NET_BIND_SERVICE only)", what, pid, k, st[k], capNetBindService)
		}
	}
	if st["NoNewPrivs"] != "1" {
		t.Errorf("%s pid %d: NoNewPrivs %q, want 1", what, pid, st["NoNewPrivs"])
	}
	if g := st["Groups"]; g != "" {
		t.Errorf("%s pid %d: supplementary groups %q, want none", what, pid, g)
	}
}

// TestFrontUnprivilegedOnLowPorts runs a root daemon whose front door
// listens on ports below 1024 of 127.0.0.1: the front runs as the
// dedicated user berth_front with CAP_NET_BIND_SERVICE as its only
// capability, and serves an app over http and https (certificate files
// only root can read, which the daemon copies for it); the app's agent,
// as its own user, has no capability. A front killed with SIGKILL and a
// front replaced by berth upgrade come back with the same credentials.
// Needs root (skipped otherwise): only root can switch users.
func TestFrontUnprivilegedOnLowPorts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only a root daemon runs the front as another user")
	}
	e := newEnv(t)
	e.t.Cleanup(func() { _ = exec.Command("userdel", "berth-capped").Run() })
	plain := lowPort(t)
	secure := lowPort(t, plain)
	e.stopDaemon(syscall.SIGTERM)
	fpid := e.frontPID()
	endPID(fpid) // the next one starts with this config
	conf := fmt.Sprintf("[front]\nhttp = \"127.0.0.1:%d\"\nhttps = \"127.0.0.1:%d\"\n", plain, secure)
	if err := os.WriteFile(filepath.Join(e.home, "daemon.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	e.startDaemon()
	out, err := exec.Command("id", "-u", "berth_front").Output()
	if err != nil {
		t.Fatalf("id -u berth_front: %v (the daemon should have created the user)", err)
	}
	uid := strings.TrimSpace(string(out))

	certFile, keyFile, pool := doorCert(t, e.home, "capped.test") // 0600 root
	svc := fmt.Sprintf("[service]\nhosts = [\"capped.test\"]\ntls = { cert = %q, key = %q }\n", certFile, keyFile)
	a := hostApp("capped", "v1", svc)
	empty := ""
	a.user = &empty // berth-capped, not root
	e.mustDeploy(a)

	serves := func(what string) {
		t.Helper()
		c := &http.Client{Timeout: 5 * time.Second, Transport: doorTransport(fmt.Sprintf("127.0.0.1:%d", secure), pool, true)}
		e.eventually(10*time.Second, what+": https through the door", func() error {
			code, body, err := get(c, "https://capped.test/")
			if err != nil || code != 200 || body != "hello from v1" {
				return fmt.Errorf("%d %q %v", code, body, err)
			}
			return nil
		})
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/x", plain), nil)
		req.Host = "capped.test"
		pc := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := pc.Do(req)
		if err != nil || resp.StatusCode != 308 {
			t.Errorf("%s: http on port %d: %v %v; want 308", what, plain, resp, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
	serves("first front")
	checkFrontCreds(t, "front", e.frontPID(), uid)

	agent := e.liveInstance("capped").PID
	if st := procStatus(t, agent); st["CapEff"] != "0000000000000000" || st["CapPrm"] != "0000000000000000" || st["CapAmb"] != "0000000000000000" {
		t.Errorf("agent pid %d: CapEff %s CapPrm %s CapAmb %s, want none", agent, st["CapEff"], st["CapPrm"], st["CapAmb"])
	}

	old := e.frontPID()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.eventually(10*time.Second, "a new front after kill -9", func() error {
		if p := e.frontPID(); p == old || !alive(p) {
			return fmt.Errorf("front pid %d", p)
		}
		return nil
	})
	serves("front after kill -9")
	checkFrontCreds(t, "front after kill -9", e.frontPID(), uid)

	old = e.frontPID()
	if r := e.berth("upgrade", berthBin); r.code != 0 {
		t.Fatalf("berth upgrade: %s\ndaemon log:\n%s", r, e.daemonLog())
	}
	if p := e.frontPID(); p == old {
		t.Errorf("front pid %d not replaced by the upgrade", p)
	}
	serves("front after upgrade")
	checkFrontCreds(t, "front after upgrade", e.frontPID(), uid)
}
