package container

import (
	"testing"

	"github.com/moby/moby/client"
)

// mobyClient is the official client of the engine r talks to: the tests
// check what berth's own small client made with an independent one (as
// internal/export's tests check its manifests with k8s.io/api).
func mobyClient(t *testing.T, r *Runtime) *client.Client {
	t.Helper()
	c, err := client.New(client.WithHost(r.Host()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
