package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// instanceApp is the sample agent answering "hello from <version>.<index>",
// its index from ${BERTH_INSTANCE}, which berth expands in the argv.
func instanceApp(name string, port, n int) app {
	return app{name: name, version: "v1", mode: "good", listen: port,
		command: []string{"/bin/sh", "-c", "VERSION=${VERSION}.${BERTH_INSTANCE} exec " + berthBin + " sample-agent"},
		extra:   fmt.Sprintf("instances = %d\n", n)}
}

// TestInstancesBlueGreenUnderLoad runs 3 instances behind the proxy: every
// one serves, and a blue-green deploy of 3 new ones under load fails no
// request and leaves exactly the 3 new ones live.
func TestInstancesBlueGreenUnderLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := instanceApp("multi", port, 3)
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v1.0")

	ld := startLoad(port, 4)
	defer ld.stop()
	time.Sleep(300 * time.Millisecond)
	a.version = "v2"
	e.mustDeploy(a)
	ld.stop()
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed during the deploy of 3 instances; first: %v", f, ld.sent.Load(), ld.errs())
	}
	t.Logf("%d requests, answers: %v", ld.sent.Load(), ld.bodies)

	served := map[string]int{}
	c := newClient(3 * time.Second)
	defer c.CloseIdleConnections()
	for range 60 {
		code, body, err := get(c, fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil || code != 200 {
			t.Fatalf("GET / = %d %v", code, err)
		}
		served[strings.TrimSpace(body)]++
	}
	for i := range 3 {
		if want := fmt.Sprintf("hello from v2.%d", i); served[want] == 0 {
			t.Errorf("instance %d of v2 served nothing: %v", i, served)
		}
	}
	if len(served) != 3 {
		t.Errorf("answers after the deploy = %v, want only the 3 instances of v2", served)
	}
	st := e.status("multi")
	live, ports := 0, map[int]bool{}
	for _, in := range st.Instances {
		if in.Live {
			live++
			ports[in.Port] = true
			if in.State != "running" || in.Release == "" {
				t.Errorf("live instance %s.%d is %s", in.Color, in.Index, in.State)
			}
		}
	}
	if live != 3 || len(ports) != 3 {
		t.Errorf("status shows %d live instances on ports %v, want 3 on 3 ports: %+v", live, ports, st.Instances)
	}
}

// TestWorkerInstancesRunSideBySide deploys a worker with 2 instances and
// a new release of it: both copies of each release run, the old ones stop.
func TestWorkerInstancesRunSideBySide(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := app{name: "wk", version: "v1", command: []string{"/bin/sh", "-c", "echo started $BERTH_INSTANCE; exec sleep 600"},
		extra: "instances = 2\n"}
	e.mustDeploy(a)
	a.version = "v2"
	e.mustDeploy(a)
	st := e.status("wk")
	running := map[int]bool{}
	for _, in := range st.Instances {
		if in.State == "running" {
			if !in.Live {
				t.Errorf("%s.%d runs but is not live", in.Color, in.Index)
			}
			running[in.Index] = true
		}
	}
	if len(running) != 2 {
		t.Fatalf("running indexes = %v, want 0 and 1: %+v", running, st.Instances)
	}
}
