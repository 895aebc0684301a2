package keeper

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/runtime"
	"github.com/berth-dev/berth/internal/runtime/runtimetest"
)

// TestContract runs the runtime contract against a real keeper, the same
// one the container engines run (internal/container/contract_test.go).
func TestContract(t *testing.T) {
	c, dir := newKeeper(t)
	bin := filepath.Join(dir, "agent")
	build := exec.Command("go", "build", "-o", bin, "github.com/berth-dev/berth/internal/container/testdata/agent")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the agent: %v\n%s", err, out)
	}
	prefix := uniqueID(t, "contract")
	runtimetest.Contract(t, c, prefix, func(id string, port int, mode, restart string) runtime.Instance {
		inst := agent(dir, id, restart, bin)
		inst.Env = append(inst.Env, fmt.Sprintf("PORT=%d", port), "MODE="+mode)
		inst.StopTimeout = 3 * time.Second
		return inst
	})
	_ = os.Remove(bin)
}
