package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sshServer is a test's own sshd on a loopback port (never the host's),
// with its own host key and authorized key; SetEnv points its sessions at
// a berth binary directory and home of the test's choosing.
type sshServer struct {
	t       *testing.T
	dir     string
	port    int
	hostPub string // the host key's public line
	userKey string // the laptop's private key
	cmd     *exec.Cmd
}

// newSSHServer starts sshd whose sessions get PATH=binDir:/usr/bin:/bin
// and BERTH_HOME=home. It skips the test without OpenSSH.
func newSSHServer(t *testing.T, binDir, home string) *sshServer {
	t.Helper()
	for _, p := range []string{"/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s missing (apt-get install openssh-server openssh-client)", p)
		}
	}
	dir := t.TempDir()
	s := &sshServer{t: t, dir: dir, port: freePort(t), userKey: filepath.Join(dir, "userkey")}
	keygen(t, filepath.Join(dir, "hostkey"))
	keygen(t, s.userKey)
	pub, err := os.ReadFile(filepath.Join(dir, "hostkey.pub"))
	if err != nil {
		t.Fatal(err)
	}
	s.hostPub = strings.TrimSpace(string(pub))
	upub, err := os.ReadFile(s.userKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), upub, 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.MkdirAll("/run/sshd", 0o755) // sshd's privilege separation directory
	conf := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s/hostkey
AuthorizedKeysFile %s/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
PidFile %s/sshd.pid
StrictModes no
UsePAM no
SetEnv PATH=%s:/usr/bin:/bin BERTH_HOME=%s NO_COLOR=1
`, s.port, dir, dir, dir, binDir, home)
	if err := os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command("/usr/sbin/sshd", "-D", "-f", filepath.Join(dir, "sshd_config"), "-E", filepath.Join(dir, "sshd.log"))
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting sshd: %v", err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		_ = s.cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "sshd.log"))
			t.Logf("sshd log:\n%s", b)
		}
	})
	if err := poll(10*time.Second, func() error {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}); err != nil {
		t.Fatalf("sshd does not listen: %v", err)
	}
	return s
}

func keygen(t *testing.T, path string) {
	t.Helper()
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
}

// laptop is a separate HOME standing in for the user's machine: its own
// ~/.ssh/config (alias "berthtest"), known_hosts and contexts.
type laptop struct {
	t    *testing.T
	home string
	url  string // ssh://berthtest
}

// newLaptop makes a laptop that trusts s's host key (knownKey, or the
// real one when "").
func newLaptop(t *testing.T, s *sshServer, knownKey string) *laptop {
	t.Helper()
	h := t.TempDir()
	if err := os.MkdirAll(filepath.Join(h, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if knownKey == "" {
		knownKey = s.hostPub
	}
	kh := fmt.Sprintf("[127.0.0.1]:%d %s\n", s.port, knownKey)
	if err := os.WriteFile(filepath.Join(h, ".ssh", "known_hosts"), []byte(kh), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`Host berthtest
  HostName 127.0.0.1
  Port %d
  User root
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s/.ssh/known_hosts
  GlobalKnownHostsFile /dev/null
`, s.port, s.userKey, h)
	if err := os.WriteFile(filepath.Join(h, ".ssh", "config"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return &laptop{t: t, home: h, url: "ssh://berthtest"}
}

// env is the laptop's environment: ssh reads the config given with -F
// (it takes ~ from the passwd entry, not $HOME).
func (l *laptop) env() []string {
	return append(os.Environ(), "HOME="+l.home, "XDG_CONFIG_HOME="+filepath.Join(l.home, ".config"),
		"BERTH_SSH_COMMAND=ssh -F "+filepath.Join(l.home, ".ssh", "config"), "NO_COLOR=1", "BERTH_HOST=", "BERTH_HOME="+filepath.Join(l.home, "nohome"))
}

// berth runs the CLI on the laptop (no --host added), with a 120s limit.
func (l *laptop) berth(args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, args...)
	cmd.Env = l.env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
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

// remote runs the CLI against the laptop's host.
func (l *laptop) remote(args ...string) result {
	return l.berth(append([]string{"--host", l.url}, args...)...)
}

// binDirWith returns a directory holding only a "berth" link to the test
// binary, for the PATH of ssh sessions.
func binDirWith(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Symlink(berthBin, filepath.Join(d, "berth")); err != nil {
		t.Fatal(err)
	}
	return d
}
