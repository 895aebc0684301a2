package container

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/runtime/runtimetest"
)

// TestContract runs the runtime contract against each engine, the same
// one the keeper runs (internal/keeper/contract_test.go).
func TestContract(t *testing.T) {
	for _, e := range []string{Docker, Podman} {
		t.Run(e, func(t *testing.T) {
			home := t.TempDir()
			r := newRuntime(t, e, home)
			defer r.Close()
			runtimetest.Contract(t, r, "contract", func(id string, port int, mode, restart string) runtime.Instance {
				return runtime.Instance{
					ID: id, App: "contract", Image: "berth-test-agent:1", Release: "r1", Port: port,
					Env: []string{fmt.Sprintf("PORT=%d", port), "HOST=0.0.0.0", "MODE=" + mode},
					UID: 65534, GID: 65534, Restart: restart, StopTimeout: 3 * time.Second,
					LogPath: filepath.Join(home, "logs", id+".log"),
				}
			})
		})
	}
}
