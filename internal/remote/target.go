// Package remote reaches a berth daemon on another host through the
// system's OpenSSH client: `ssh HOST berth dial-stdio` carries the control
// API, so ~/.ssh/config, ssh-agent, known_hosts and ProxyJump work as the
// user set them up, and host keys are verified by ssh itself. It also
// keeps the user's named contexts (contexts.toml). Nothing here holds
// mutable package state; a Dialer is safe for concurrent use.
package remote

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// ErrBadHost is returned for a --host that is not ssh://[user@]host[:port].
var ErrBadHost = errors.New("bad host")

// Target is one remote host: what to hand ssh.
type Target struct {
	URL  string // as given, e.g. "ssh://deploy@example.org:2222"
	User string // "" = ssh's choice (~/.ssh/config, then the local user)
	Host string // a name, an address or a ~/.ssh/config alias
	Port int    // 0 = ssh's choice
}

// ParseTarget parses ssh://[user@]host[:port].
func ParseTarget(s string) (Target, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "ssh" || u.Host == "" || u.Hostname() == "" {
		return Target{}, fmt.Errorf("%w %q: use ssh://[user@]host[:port]", ErrBadHost, s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return Target{}, fmt.Errorf("%w %q: nothing may follow host[:port]", ErrBadHost, s)
	}
	if _, set := u.User.Password(); set {
		return Target{}, fmt.Errorf("%w %q: no passwords in the URL; ssh asks, or use a key", ErrBadHost, s)
	}
	t := Target{URL: s, User: u.User.Username(), Host: u.Hostname()}
	if strings.HasPrefix(t.Host, "-") || strings.HasPrefix(t.User, "-") {
		return Target{}, fmt.Errorf("%w %q: a host or user may not start with '-'", ErrBadHost, s)
	}
	if p := u.Port(); p != "" {
		if t.Port, err = strconv.Atoi(p); err != nil || t.Port < 1 || t.Port > 65535 {
			return Target{}, fmt.Errorf("%w %q: port must be 1-65535", ErrBadHost, s)
		}
	}
	return t, nil
}

// String is the URL the target was parsed from.
func (t Target) String() string { return t.URL }

// SSHCommandEnv names the variable that replaces "ssh" as the client (a
// command and its options, split on white space, like GIT_SSH_COMMAND).
const SSHCommandEnv = "BERTH_SSH_COMMAND"

// sshArgs is the argv that runs remote (one shell command line) on t.
// BatchMode: berth runs ssh without a terminal of its own, so ssh must fail
// rather than prompt; host keys are checked as the user's config says
// (an unknown or changed key fails), never accepted silently.
func (t Target) sshArgs(remote string) []string {
	argv := strings.Fields(os.Getenv(SSHCommandEnv))
	if len(argv) == 0 {
		argv = []string{"ssh"}
	}
	argv = append(argv, "-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10")
	if t.User != "" {
		argv = append(argv, "-l", t.User)
	}
	if t.Port != 0 {
		argv = append(argv, "-p", strconv.Itoa(t.Port))
	}
	return append(argv, "--", t.Host, remote)
}
