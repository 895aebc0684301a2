package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// world is the benchmark's server (sshd, daemon) and laptop directories.
type world struct {
	dir, bin, home string
	sshd, daemon   *exec.Cmd
}

func newWorld() (*world, error) {
	dir, err := os.MkdirTemp("", "bremote-")
	if err != nil {
		return nil, err
	}
	w := &world{dir: dir, bin: filepath.Join(dir, "bin", "berth"), home: filepath.Join(dir, "home")}
	if out, err := exec.Command("go", "build", "-o", w.bin, "./cmd/berth").CombinedOutput(); err != nil {
		w.close()
		return nil, fmt.Errorf("building berth (run from the repository root): %v\n%s", err, out)
	}
	if err := w.startDaemon(); err != nil {
		w.close()
		return nil, err
	}
	if err := w.startSSHD(); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *world) startDaemon() error {
	w.daemon = exec.Command(w.bin, "daemon", "--home", w.home)
	if err := w.daemon.Start(); err != nil {
		return err
	}
	for range 100 {
		if exec.Command(w.bin, "--home", w.home, "status").Run() == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the daemon does not answer")
}

func (w *world) startSSHD() error {
	s := filepath.Join(w.dir, "sshd")
	lap := filepath.Join(w.dir, "laptop")
	for _, d := range []string{s, lap, "/run/sshd"} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	for _, k := range []string{"hostkey", "userkey"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(s, k)).CombinedOutput(); err != nil {
			return fmt.Errorf("ssh-keygen: %v: %s", err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	pub, _ := os.ReadFile(filepath.Join(s, "userkey.pub"))
	hpub, _ := os.ReadFile(filepath.Join(s, "hostkey.pub"))
	files := map[string]string{
		filepath.Join(s, "authorized_keys"): string(pub),
		filepath.Join(s, "sshd_config"): fmt.Sprintf("Port %d\nListenAddress 127.0.0.1\nHostKey %s/hostkey\nAuthorizedKeysFile %s/authorized_keys\n"+
			"PasswordAuthentication no\nPermitRootLogin prohibit-password\nPidFile %s/sshd.pid\nStrictModes no\nUsePAM no\n"+
			"SetEnv PATH=%s:/usr/bin:/bin BERTH_HOME=%s\n", port, s, s, s, filepath.Dir(w.bin), w.home),
		filepath.Join(lap, "known_hosts"): fmt.Sprintf("[127.0.0.1]:%d %s", port, hpub),
		filepath.Join(lap, "ssh_config"): fmt.Sprintf("Host benchhost\n  HostName 127.0.0.1\n  Port %d\n  User root\n  IdentityFile %s/userkey\n"+
			"  IdentitiesOnly yes\n  UserKnownHostsFile %s/known_hosts\n  GlobalKnownHostsFile /dev/null\n", port, s, lap),
	}
	for p, c := range files {
		if err := os.WriteFile(p, []byte(c), 0o600); err != nil {
			return err
		}
	}
	w.sshd = exec.Command("/usr/sbin/sshd", "-D", "-f", filepath.Join(s, "sshd_config"), "-E", filepath.Join(s, "sshd.log"))
	if err := w.sshd.Start(); err != nil {
		return fmt.Errorf("starting sshd: %w", err)
	}
	for range 100 {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("sshd does not listen")
}

// close stops the app, the daemon, its keeper and sshd, by PID, and
// removes the directory.
func (w *world) close() {
	if w.daemon != nil {
		_ = exec.Command(w.bin, "--home", w.home, "rm", "benchremote").Run()
		endPID(w.daemon.Process.Pid)
		_ = w.daemon.Wait()
	}
	if b, err := os.ReadFile(filepath.Join(w.home, "run", "keeper", "keeper.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
			endPID(pid)
		}
	}
	if w.sshd != nil {
		endPID(w.sshd.Process.Pid)
		_ = w.sshd.Wait()
	}
	_ = os.RemoveAll(w.dir)
}
