package e2e

import (
	"fmt"
	"sync"
	"testing"
)

// TestDeploysOfSeveralAppsAtOnce: deploys of different apps do not share
// a lock: first deploys and then blue-green deploys of three apps started
// at the same instant all succeed, and each app answers with its own
// release.
func TestDeploysOfSeveralAppsAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	apps := make([]app, 3)
	for i := range apps {
		apps[i] = app{name: fmt.Sprintf("par%d", i), mode: "good", listen: freePort(t)}
	}
	for _, v := range []string{"v1", "v2"} {
		paths := make([]string, len(apps))
		for i := range apps {
			apps[i].version = v
			paths[i] = e.write(apps[i])
			e.mu.Lock()
			e.apps[apps[i].name] = true
			e.mu.Unlock()
		}
		rs := make([]result, len(apps))
		var wg sync.WaitGroup
		for i := range apps {
			wg.Add(1)
			go func() { defer wg.Done(); rs[i] = e.berth("deploy", "-f", paths[i]) }()
		}
		wg.Wait()
		for i, r := range rs {
			e.notePIDs(apps[i].name)
			if r.code != 0 {
				t.Errorf("deploy %s %s alongside the others: %s", apps[i].name, v, r)
			}
		}
		for _, a := range apps {
			e.waitAnswer(a.listen, "hello from "+v)
		}
	}
}
