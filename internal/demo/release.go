package demo

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/state"
)

type deployResult = state.Deployment

// specTemplate is the demo app's berth.toml; short windows keep the demo
// under a minute.
const specTemplate = `version = 1
name = %q

[run]
command = ["./agent", "sample-agent"]
env = { VERSION = %q, MODE = %q }
stop_timeout = "5s"

[service]
listen = "127.0.0.1:%d"

[deploy]
strategy = %q
healthy_after = 2
verify_for = "3s"
drain_timeout = "5s"

[[checks]]
name = "up"
type = "http"
path = "/up"
interval = "200ms"
timeout = "1s"
retries = 3
start_period = "2s"

[[checks]]
name = "answers"
role = "functional"
type = "exec"
command = ["./agent", "sample-agent", "selftest"]
interval = "1s"
timeout = "5s"
`

// writeRelease makes a release directory: the spec and the agent binary
// (berth itself, whose hidden sample-agent command is the demo's agent).
func (d *demo) writeRelease(version, mode, strategy string) (string, error) {
	dir := filepath.Join(d.h.Root, "src", version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	spec := fmt.Sprintf(specTemplate, App, version, mode, d.port, strategy)
	if err := os.WriteFile(filepath.Join(dir, "berth.toml"), []byte(spec), 0o644); err != nil {
		return "", err
	}
	return dir, copyFile(d.cfg.Exe, filepath.Join(dir, "agent"), 0o755)
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// liveVersion asks the app, through the proxy, which version answers.
func (d *demo) liveVersion(url string) string {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "none: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}
