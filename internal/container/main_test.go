package container

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/berth-dev/berth/internal/container/enginetest"
)

// The engines are started once per test binary, each under its own
// temporary directory, and stopped by PID at the end.
var engines struct {
	mu   sync.Mutex
	once map[string]*sync.Once
	eng  map[string]*enginetest.Engine
	err  map[string]error
	dirs []string
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, e := range engines.eng {
		e.Stop()
	}
	for _, d := range engines.dirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// engine returns the running engine name ("docker" or "podman") with the
// test agent's image "berth-test-agent:1" made, or skips when its binaries
// are absent.
func engine(t *testing.T, name string) *enginetest.Engine {
	t.Helper()
	engines.mu.Lock()
	if engines.once == nil {
		engines.once, engines.eng, engines.err = map[string]*sync.Once{}, map[string]*enginetest.Engine{}, map[string]error{}
	}
	if engines.once[name] == nil {
		engines.once[name] = &sync.Once{}
	}
	once := engines.once[name]
	engines.mu.Unlock()
	once.Do(func() {
		dir, err := os.MkdirTemp("", "berth-"+name+"-")
		if err != nil {
			engines.err[name] = err
			return
		}
		engines.dirs = append(engines.dirs, dir)
		var e *enginetest.Engine
		if name == Podman {
			e, err = enginetest.Podman(dir)
		} else {
			e, err = enginetest.Docker(dir)
		}
		if err == nil {
			e.BuildAgentImage(t, "github.com/berth-dev/berth/internal/container/testdata/agent", "berth-test-agent:1", "")
		}
		engines.mu.Lock()
		engines.eng[name], engines.err[name] = e, err
		engines.mu.Unlock()
	})
	engines.mu.Lock()
	defer engines.mu.Unlock()
	if err := engines.err[name]; err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v", name, err)
		}
		t.Skipf("skipping: %v", err)
	}
	if engines.eng[name] == nil {
		t.Fatal(fmt.Sprintf("%s did not start", name))
	}
	return engines.eng[name]
}
