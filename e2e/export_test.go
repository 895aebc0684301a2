package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestExportCLI runs berth export as a user would: the manifest on stdout,
// what is not carried on stderr, and the exit codes of docs/cli.md.
func TestExportCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	container := write("container.toml", swarmSpec(18080, "v1", "good")+`
[[checks]]
name = "beat"
type = "heartbeat"
pattern = "tick"
`)
	host := write("host.toml", "version = 1\nname = \"hostcmd\"\n[run]\ncommand = [\"./agent\"]\n")
	bad := write("bad.toml", "version = 1\nname = \"bad\"\n[run]\ncommand = [\"./agent\"]\nstop_timeout = 10\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // a line the manifest must hold
		stderr string
	}{
		{"swarm", []string{"export", "swarm", "-f", container}, 0, "order: start-first", `not carried: checks[1] "beat"`},
		{"compose", []string{"export", "compose", "-f", container}, 0, "host_ip: 127.0.0.1", "not carried: deploy.strategy"},
		{"kubernetes", []string{"export", "kubernetes", "-f", container}, 0, "#   kubectl patch service swarmed", "not carried: deploy.max_error_rate"},
		{"a host command with --image", []string{"export", "kubernetes", "-f", host, "--image", "agent:1"}, 0, "image: agent:1", "note: run.command"},
		{"a host command without an image", []string{"export", "swarm", "-f", host}, 2, "", "--image NAME:TAG"},
		{"an invalid spec", []string{"export", "swarm", "-f", bad}, 2, "", "bad.toml:5:"},
		{"an unknown target", []string{"export", "nomad", "-f", container}, 2, "", "swarm, compose or kubernetes"},
		{"no target", []string{"export", "-f", container}, 2, "", "accepts 1 arg"},
		{"a bad --publish", []string{"export", "swarm", "-f", container, "--publish", "mesh"}, 2, "", "--publish \"mesh\""},
		{"--host", []string{"--host", "ssh://example.invalid", "export", "swarm", "-f", container}, 2, "", "runs on the server itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runBerth(dir, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("berth %v: want exit %d, stdout with %q, stderr with %q; got %s", tt.args, tt.code, tt.stdout, tt.stderr, r)
			}
		})
	}
}

// TestCLIDocListsEveryCommand: every command berth --help lists has a row
// in docs/cli.md's command table.
func TestCLIDocListsEveryCommand(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(berthBin, "--help").Output()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, cell := range regexp.MustCompile("(?m)^\\| (`berth .*?) \\| ").FindAllStringSubmatch(string(doc), -1) {
		for _, w := range regexp.MustCompile(`[a-z][a-z-]*`).FindAllString(cell[1], -1) {
			documented[w] = true
		}
	}
	listing := false
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "Available Commands:"):
			listing = true
		case listing && strings.TrimSpace(line) == "":
			listing = false
		case listing:
			name := strings.Fields(line)[0]
			if name != "help" && !documented[name] {
				t.Errorf("berth %s is not in docs/cli.md's command table", name)
			}
		}
	}
}
