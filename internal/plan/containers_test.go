package plan

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/spec"
)

// TestContainersLine: `berth plan` says when containers add value, and
// for an app that already runs in one, what it gains and pays.
func TestContainersLine(t *testing.T) {
	for _, tc := range []struct {
		name, run, want string
	}{
		{"process", `command = ["./a"]`, "not needed for one agent on one host"},
		{"docker", `runtime = "docker"` + "\n" + `image = "agent:1"`, "runs as a docker container"},
		{"podman", `runtime = "podman"` + "\n" + `build = "."`, "runs as a podman container"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := spec.Parse("berth.toml", []byte("version = 1\nname = \"a\"\n[run]\n"+tc.run+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			p, _ := Make(a, Timings{})
			if !strings.Contains(p.Containers, tc.want) {
				t.Errorf("containers line = %q, want it to say %q", p.Containers, tc.want)
			}
		})
	}
}
