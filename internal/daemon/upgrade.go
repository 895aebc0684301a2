package daemon

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/front"
	"github.com/berth-dev/berth/internal/home"
)

// upgradeHealth is how long a new binary has to answer, at each step.
const upgradeHealth = 10 * time.Second

// ErrUpgrading refuses an upgrade while another one runs.
var ErrUpgrading = errors.New("an upgrade is under way")

// ReExec is what Run returns after an upgrade: the caller replaces the
// daemon's process image with Exe (same pid, so systemd, the front's
// registration and the caller's wait all see the same daemon) using Env.
type ReExec struct {
	Exe string
	Env []string // the daemon's environment as it started, minus LISTEN_*
}

func (r *ReExec) Error() string { return "re-executing the daemon from " + r.Exe }

// Exec replaces the process with r.Exe, with args after argv[0]. It
// returns only on failure.
func (r *ReExec) Exec(args []string) error {
	err := syscall.Exec(r.Exe, append([]string{r.Exe}, args...), r.Env)
	return fmt.Errorf("executing the new binary %s: %w", r.Exe, err)
}

// upgrader runs berth upgrade inside the daemon: install the new binary,
// probe it, replace the front, then have Run end and the process re-exec
// itself. Safe for concurrent use; one upgrade at a time.
type upgrader struct {
	home    home.Layout
	fcfg    front.EnsureConfig
	fr      *remoteFront
	restart *selfRestart // nil: another supervisor restarts the daemon
	version string
	env     []string
	log     *slog.Logger
	stop    context.CancelFunc // ends Run

	mu   sync.Mutex
	busy bool
	exe  string // set once the front runs the new binary: Run re-execs
}

// Upgrade implements api.Upgrader. On success the front runs the new
// binary already; then (after the reply is written) Run ends and the
// daemon re-execs into it. On failure nothing changed: the old processes
// serve on.
func (u *upgrader) Upgrade(ctx context.Context, req api.UpgradeRequest) (api.UpgradeResult, func(), error) {
	u.mu.Lock()
	if u.busy || u.exe != "" {
		u.mu.Unlock()
		return api.UpgradeResult{}, nil, ErrUpgrading
	}
	u.busy = true
	u.mu.Unlock()
	defer func() { u.mu.Lock(); u.busy = false; u.mu.Unlock() }()

	res := api.UpgradeResult{From: u.version, DaemonPID: os.Getpid()}
	if old, _, err := u.fr.c.Info(ctx); err == nil {
		res.OldFrontPID = old.PID
	}
	exe, err := installBinary(u.home, req.Binary)
	if err != nil {
		return res, nil, err
	}
	res.Binary = exe
	if res.To, err = probeVersion(ctx, exe, upgradeHealth); err != nil {
		if self, serr := os.Executable(); serr == nil && self != exe {
			_ = os.Remove(exe) // not a berth: nothing in bin/ to roll back to
		}
		return res, nil, fmt.Errorf("the new binary %s failed its check: %w; nothing was replaced", req.Binary, err)
	}
	info, err := front.Upgrade(ctx, front.UpgradeConfig{Front: u.fcfg, Exe: exe, Health: upgradeHealth, Budget: req.Budget}, u.fr.held)
	if err != nil {
		return res, nil, err
	}
	res.FrontPID = info.PID
	// Hold the new front's sockets, and register with it as the old
	// binary: should the new daemon die before it registers itself, the
	// front starts the old one again.
	if err := u.fr.attach(u.restart)(ctx, u.fr.c); err != nil {
		u.log.Warn("attaching to the new front", "err", err)
	}
	u.mu.Lock()
	u.exe = exe
	u.mu.Unlock()
	u.log.Info("upgrade: the front runs the new binary; re-executing the daemon", "binary", exe, "version", res.To, "front_pid", info.PID)
	return res, u.stop, nil
}

// reexec returns what Run returns after an upgrade, or nil.
func (u *upgrader) reexec() *ReExec {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.exe == "" {
		return nil
	}
	var env []string
	for _, kv := range u.env {
		if !strings.HasPrefix(kv, "LISTEN_") {
			env = append(env, kv)
		}
	}
	return &ReExec{Exe: u.exe, Env: env}
}

// installBinary copies src into <home>/bin/berth-<sha256 prefix>
// atomically (temp file, fsync, rename, fsync of the directory), so the
// running binary, wherever it is, stays for a roll back, and a crash
// never leaves a torn binary under the final name.
func installBinary(h home.Layout, src string) (string, error) {
	if !filepath.IsAbs(src) {
		return "", fmt.Errorf("installing %s: the path must be absolute", src)
	}
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("installing the new binary: %w", err)
	}
	defer in.Close()
	dir := filepath.Join(h.Root, "bin")
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".berth.tmp-*")
	if err != nil {
		return "", fmt.Errorf("installing the new binary: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	sum := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, sum), in); err != nil {
		tmp.Close()
		return "", fmt.Errorf("copying %s: %w", src, err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return "", fmt.Errorf("installing the new binary: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("syncing the new binary: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("installing the new binary: %w", err)
	}
	dst := filepath.Join(dir, "berth-"+hex.EncodeToString(sum.Sum(nil))[:12])
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("installing the new binary: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return dst, nil
}

// probeVersion runs `exe version --client` and returns the version it
// prints; a binary that fails, prints something else or takes longer
// than limit is refused.
func probeVersion(ctx context.Context, exe string, limit time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "version", "--client")
	cmd.WaitDelay = time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return "", fmt.Errorf("`%s version` did not answer within %s", filepath.Base(exe), limit)
	}
	if err != nil {
		return "", fmt.Errorf("`%s version` failed: %w: %q", filepath.Base(exe), err, strings.TrimSpace(out.String()))
	}
	line, _, _ := bufio.NewReader(&out).ReadLine()
	v, ok := strings.CutPrefix(string(line), "berth version ")
	if !ok || v == "" {
		return "", fmt.Errorf("`%s version` printed %q, not a berth version", filepath.Base(exe), line)
	}
	return v, nil
}
