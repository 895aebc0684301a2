package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCommandExpandsPort runs a real third-party server whose argv names
// ${PORT} (exec form, expanded by berth) and then a shell-form command that
// the shell expands: both must be reached through the proxy, each on the
// port berth gave its color.
func TestCommandExpandsPort(t *testing.T) {
	t.Parallel()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("needs /usr/bin/python3")
	}
	e := newEnv(t)
	port := freePort(t)
	checks := "[[checks]]\nname = \"up\"\ntype = \"http\"\npath = \"/index.txt\"\ninterval = \"200ms\"\nstart_period = \"5s\"\n"
	a := app{name: "pyexp", version: "v1", listen: port, checks: checks,
		command: []string{py, "-m", "http.server", "--bind", "127.0.0.1", "${PORT}"}}
	p := e.write(a)
	if err := os.WriteFile(filepath.Join(filepath.Dir(p), "index.txt"), []byte("exec form\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	e.apps[a.name] = true
	e.mu.Unlock()
	if r := e.berth("deploy", "-f", p); r.code != 0 {
		t.Fatalf("deploy exec form: %s", r)
	}
	e.notePIDs(a.name)
	e.waitAnswerPath(port, "/index.txt", "exec form")

	a.version = "v2"
	a.command = nil
	shell := fmt.Sprintf("exec %s -m http.server --bind 127.0.0.1 \"$PORT\"", py)
	p = e.write(a)
	spec, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(spec), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "command = ") {
			lines[i] = fmt.Sprintf("command = %q", shell)
		}
	}
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(p), "index.txt"), []byte("shell form\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := e.berth("deploy", "-f", p); r.code != 0 {
		t.Fatalf("deploy shell form: %s", r)
	}
	e.notePIDs(a.name)
	e.waitAnswerPath(port, "/index.txt", "shell form")
}

// TestCommandUnknownVariableRefused: a typo in a variable is a validation
// error at file:line:col, and nothing is deployed.
func TestCommandUnknownVariableRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := app{name: "badvar", version: "v1", command: []string{"/bin/sleep", "${PROT}"}}
	r := e.deploy(a)
	if r.code == 0 || !strings.Contains(r.stderr, "berth.toml:5:") || !strings.Contains(r.stderr, "${PROT} is not set") {
		t.Fatalf("deploy with ${PROT}: want a located validation error, got %s", r)
	}
}

// waitAnswerPath polls the proxy until GET path answers 200 with want.
func (e *env) waitAnswerPath(port int, path, want string) {
	e.t.Helper()
	c := newClient(3 * time.Second)
	defer c.CloseIdleConnections()
	url := fmt.Sprintf("http://127.0.0.1:%d%s", port, path)
	e.eventually(15*time.Second, "proxy answers "+want, func() error {
		code, body, err := get(c, url)
		if err != nil {
			return err
		}
		if code != 200 || body != want {
			return fmt.Errorf("GET %s = %d %q, want 200 %q", path, code, body, want)
		}
		return nil
	})
}
