package systemd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// ErrNoSystemd is returned when systemctl cannot reach a running systemd.
var ErrNoSystemd = errors.New("systemd is not running here")

// Systemctl runs systemctl, journalctl and systemd-analyze. The zero value
// uses the binaries on PATH; it holds no state and is safe for concurrent
// use.
type Systemctl struct {
	// Prefix runs every command through another program, e.g.
	// ["nsenter", "-t", "PID", "-a"]; empty runs them directly.
	Prefix []string
}

// run executes name args and returns stdout; stderr is in the error.
func (s Systemctl) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	argv := append(append(append([]string{}, s.Prefix...), name), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER="}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "System has not been booted with systemd") || strings.Contains(msg, "Failed to connect to bus") {
			return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), ErrNoSystemd, msg)
		}
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

// DaemonReload makes systemd read changed unit files.
func (s Systemctl) DaemonReload(ctx context.Context) error {
	_, err := s.run(ctx, "systemctl", "daemon-reload")
	return err
}

// Start starts a unit and waits for systemd's job to finish: for Type=exec
// until the program runs, for Type=notify until it says READY=1.
func (s Systemctl) Start(ctx context.Context, unit string) error {
	_, err := s.run(ctx, "systemctl", "start", unit)
	return err
}

// Stop stops a unit and waits until no process of it is left.
func (s Systemctl) Stop(ctx context.Context, unit string) error {
	_, err := s.run(ctx, "systemctl", "stop", unit)
	return err
}

// Restart restarts a unit (starts it when stopped).
func (s Systemctl) Restart(ctx context.Context, unit string) error {
	_, err := s.run(ctx, "systemctl", "restart", unit)
	return err
}

// EnableNow enables a unit and starts it.
func (s Systemctl) EnableNow(ctx context.Context, unit string) error {
	_, err := s.run(ctx, "systemctl", "enable", "--now", "-q", unit)
	return err
}

// Enable enables a unit without starting it.
func (s Systemctl) Enable(ctx context.Context, unit string) error {
	_, err := s.run(ctx, "systemctl", "enable", "-q", unit)
	return err
}

// Disable disables a unit and stops it; a unit that does not exist is not
// an error.
func (s Systemctl) Disable(ctx context.Context, unit string) error {
	_, err := s.run(ctx, "systemctl", "disable", "--now", "-q", unit)
	if err != nil && strings.Contains(err.Error(), "does not exist") {
		return nil
	}
	return err
}

// ResetFailed forgets a unit's failed state.
func (s Systemctl) ResetFailed(ctx context.Context, unit string) error {
	_, err := s.run(ctx, "systemctl", "reset-failed", unit)
	if err != nil && strings.Contains(err.Error(), "not loaded") {
		return nil
	}
	return err
}

// IsEnabled reports whether a unit is enabled.
func (s Systemctl) IsEnabled(ctx context.Context, unit string) (bool, error) {
	out, err := s.run(ctx, "systemctl", "is-enabled", unit)
	state := strings.TrimSpace(string(out))
	if err != nil && state == "" {
		if errors.Is(err, ErrNoSystemd) {
			return false, err
		}
		return false, nil // not found
	}
	return state == "enabled", nil
}

// Show returns the named properties of a unit (systemctl show -p).
func (s Systemctl) Show(ctx context.Context, unit string, props ...string) (map[string]string, error) {
	out, err := s.run(ctx, "systemctl", "show", unit, "-p", strings.Join(props, ","))
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[k] = v
		}
	}
	return m, sc.Err()
}

// Journal returns the last n lines a unit's processes wrote to journald,
// message only. Unlike `journalctl -u`, systemd's own lines about the unit
// ("Started ...") are left out: this is the agent's output.
func (s Systemctl) Journal(ctx context.Context, unit string, n int) ([]string, error) {
	out, err := s.run(ctx, "journalctl", "_SYSTEMD_UNIT="+unit, "-n", strconv.Itoa(n), "-o", "cat", "--no-pager", "-q")
	if err != nil {
		return nil, err
	}
	text := strings.TrimRight(string(out), "\n")
	if text == "" {
		return nil, nil
	}
	return strings.Split(text, "\n"), nil
}

var exposureRe = regexp.MustCompile(`Overall exposure level for \S+: ([0-9]+(?:\.[0-9]+)?) (\S+)`)

// SecurityScore runs systemd-analyze security on a unit and returns its
// overall exposure (0 best, 10 worst) and verdict ("OK", "UNSAFE", ...).
func (s Systemctl) SecurityScore(ctx context.Context, unit string) (float64, string, error) {
	out, err := s.run(ctx, "systemd-analyze", "security", "--no-pager", unit)
	if err != nil {
		return 0, "", err
	}
	return parseExposure(out)
}

func parseExposure(out []byte) (float64, string, error) {
	m := exposureRe.FindSubmatch(out)
	if m == nil {
		return 0, "", fmt.Errorf("no exposure level in systemd-analyze output: %q", tailBytes(out, 200))
	}
	f, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0, "", fmt.Errorf("parsing exposure %q: %w", m[1], err)
	}
	return f, string(m[2]), nil
}

func tailBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
