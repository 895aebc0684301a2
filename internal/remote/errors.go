package remote

import (
	"errors"
	"fmt"
	"strings"
)

// Causes of a failed connection, matched with errors.Is. The error itself
// is one line naming the host, the cause and the fix.
var (
	ErrUnreachable = errors.New("host unreachable")
	ErrAuth        = errors.New("ssh login refused")
	ErrHostKey     = errors.New("host key not trusted")
	ErrNoBerth     = errors.New("berth is not installed on the host")
	ErrOldBerth    = errors.New("berth on the host is too old")
	ErrNoDaemon    = errors.New("no berth daemon runs on the host")
	ErrSSH         = errors.New("ssh failed")
)

// exitNoDaemon is dial-stdio's exit code when no daemon answers (the CLI's
// ExitNoDaemon).
const exitNoDaemon = 4

// classify turns how ssh (or the remote command) ended into one line.
// ssh exits 255 for its own errors and says which on stderr; otherwise the
// code is the remote command's.
func classify(t Target, code int, stderr string) error {
	msg := lastLine(stderr)
	setup := "berth --host " + t.URL + " setup"
	switch {
	case code == 255 && strings.Contains(stderr, "REMOTE HOST IDENTIFICATION HAS CHANGED"):
		return fmt.Errorf("%w: the host key of %s changed since you last connected; if you know why (a reinstall), remove the old key with ssh-keygen -R %s, else someone may be in between", ErrHostKey, t.Host, t.Host)
	case code == 255 && strings.Contains(stderr, "Host key verification failed"):
		return fmt.Errorf("%w: %s's host key is not in your known_hosts; connect once with ssh %s to check its fingerprint and accept it", ErrHostKey, t.Host, t.Host)
	case code == 255 && strings.Contains(stderr, "Permission denied"):
		return fmt.Errorf("%w by %s (%s): add your public key to the server's authorized_keys (ssh-copy-id), load it into ssh-agent (ssh-add), or set User/IdentityFile in ~/.ssh/config", ErrAuth, t.Host, msg)
	case code == 255 && unreachable(stderr):
		return fmt.Errorf("%w: %s (%s): check the name and port, that sshd runs there, and your network", ErrUnreachable, t.Host, msg)
	case code == 255:
		return fmt.Errorf("%w reaching %s: %s", ErrSSH, t.Host, msg)
	case code == 127 || strings.Contains(stderr, "command not found") || strings.HasSuffix(msg, ": not found"):
		return fmt.Errorf("%w (%s has no berth in the PATH of its ssh sessions): install it with %s", ErrNoBerth, t.Host, setup)
	case strings.Contains(stderr, `unknown command "dial-stdio"`):
		return fmt.Errorf("%w (it has no dial-stdio): upgrade it with %s", ErrOldBerth, setup)
	case code == exitNoDaemon:
		return fmt.Errorf("%w (%s): start it with %s (or there: systemctl start berth)", ErrNoDaemon, t.Host, setup)
	default:
		return fmt.Errorf("%w: berth dial-stdio on %s exited %d: %s", ErrSSH, t.Host, code, msg)
	}
}

func unreachable(stderr string) bool {
	for _, s := range []string{"Connection refused", "Could not resolve hostname", "No route to host",
		"Connection timed out", "Network is unreachable", "Name or service not known", "Connection closed by"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// lastLine is the last non-empty line of s, trimmed ("" if none).
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return strings.TrimPrefix(l, "berth: ")
		}
	}
	return "no message"
}
