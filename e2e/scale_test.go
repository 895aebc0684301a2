package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestScaleUnderLoad scales a live app 1 -> 3 -> 1 without a release under
// load: no request fails, 3 instances serve in between, 1 after.
func TestScaleUnderLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	a := instanceApp("sc", port, 1)
	e.mustDeploy(a)
	e.waitAnswer(port, "hello from v1.0")
	ld := startLoad(port, 4)
	defer ld.stop()
	time.Sleep(300 * time.Millisecond)

	answers := func() map[string]int {
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
		return served
	}
	if r := e.berth("scale", "sc", "3"); r.code != 0 {
		t.Fatalf("scale to 3: %s", r)
	}
	if got := answers(); len(got) != 3 {
		t.Errorf("answers at 3 instances = %v, want 3 instances", got)
	}
	if r := e.berth("scale", "sc", "1"); r.code != 0 {
		t.Fatalf("scale to 1: %s", r)
	}
	ld.stop()
	if f := ld.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed while scaling; first: %v", f, ld.sent.Load(), ld.errs())
	}
	t.Logf("%d requests, answers: %v", ld.sent.Load(), ld.bodies)
	if got := answers(); len(got) != 1 || got["hello from v1.0"] == 0 {
		t.Errorf("answers at 1 instance = %v, want instance 0 only", got)
	}
	running := 0
	for _, in := range e.status("sc").Instances {
		if in.State == "running" {
			running++
		}
	}
	if running != 1 {
		t.Errorf("%d instances run after scaling to 1", running)
	}
	if r := e.berth("scale", "sc", "0"); r.code != 2 {
		t.Errorf("scale to 0: exit %d, want 2", r.code)
	}
}
